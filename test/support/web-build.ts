import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { webAppDir } from '../../src/http/web-app';

const ROOT = path.resolve(__dirname, '../..');

function newestMtime(entry: string): number {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

/**
 * Makes sure dist/web holds a build of the current web/ sources (what `npm run build` makes): builds
 * with Vite only when a source is newer than the build, so a suite run after `npm run build` pays nothing.
 */
export function ensureWebBuild(): void {
  const index = path.join(webAppDir(), 'index.html');
  let built = 0;
  try {
    built = statSync(index).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = Math.max(newestMtime(path.join(ROOT, 'web')), newestMtime(path.join(ROOT, 'package-lock.json')));
  if (built > sources) return;
  execFileSync('npx', ['vite', 'build', '-c', 'web/vite.config.mts'], { cwd: ROOT, stdio: 'inherit' });
}

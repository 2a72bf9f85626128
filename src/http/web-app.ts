import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express from 'express';
import { ImmutableAssets, sendImmutable } from './immutable-assets';

/*
 * The fan web app (web/, built by Vite into dist/web by `npm run build`), served at / from the built
 * files only. index.html is revalidated on every visit (no-cache, ETag); the hashed files under
 * /assets/ never change under their name, so browsers keep them a year. The policy allows scripts,
 * styles and connections to this origin only (WebSocket included), and no inline script.
 * Without a build, / answers 503 with what to run: the API keeps working either way.
 */

export const WEB_APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = 'The web app is not built. Run `npm run build` (npm start does it), then reload.\n';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/** The repository (or image) root: the nearest directory above this file with a package.json. */
function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** Where the built app is: dist/web under the project root, the same from src/ (tests) and dist/src/ (npm start). */
export function webAppDir(): string {
  return path.join(projectRoot(), 'dist', 'web');
}

export function webAppRouter(dir: string = webAppDir()): express.Router {
  const router = express.Router();
  // Hashed names never change content, so each is read and gzipped once.
  const assets = new ImmutableAssets(async (name) => {
    const type = TYPES[path.extname(name)];
    if (!type) return undefined;
    try {
      return { type, body: await readFile(path.join(dir, 'assets', name)) };
    } catch {
      return undefined;
    }
  });

  router.get(['/', '/index.html'], async (_req, res) => {
    let html: Buffer;
    try {
      html = await readFile(path.join(dir, 'index.html'));
    } catch {
      res.status(503).set({ 'Cache-Control': 'no-store', 'Retry-After': '30' }).type('text/plain').send(NOT_BUILT);
      return;
    }
    res.set({
      'Content-Security-Policy': WEB_APP_CSP,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    });
    res.type('html').send(html);
  });

  router.get('/assets/:name', async (req, res, next) => {
    const name = req.params.name;
    // Built names only (letters, digits, dash, underscore, dots): no path tricks.
    if (!/^[\w-]+(\.[\w-]+)*$/.test(name)) {
      next();
      return;
    }
    try {
      const asset = await assets.get(name);
      if (!asset) {
        res.status(404).set('Cache-Control', 'no-store').type('text/plain').send('Not found\n');
        return;
      }
      sendImmutable(req, res, asset);
    } catch (error) {
      next(error);
    }
  });

  return router;
}

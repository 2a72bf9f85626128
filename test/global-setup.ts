import { execFileSync } from 'node:child_process';

/** Compiles once so tests that start a second server process run the same code as `npm start`. */
export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}

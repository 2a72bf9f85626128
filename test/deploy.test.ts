import { execFile, spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/harness';
import { closedPort } from './support/ports';
import { spawnProcess } from './support/process';

/** Runs a command to its end without blocking the event loop (the test server lives in this process). */
const run = async (command: string, args: string[], cwd: string) => void (await promisify(execFile)(command, args, { cwd, maxBuffer: 16 * 1024 * 1024 }));

const dockerfile = readFileSync('Dockerfile', 'utf8');

/** The HEALTHCHECK's exec-form command, as the Docker engine would run it inside the container. */
function healthcheckCommand(): string[] {
  const match = /HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])/.exec(dockerfile);
  if (!match?.[1]) throw new Error('no exec-form HEALTHCHECK in the Dockerfile');
  return JSON.parse(match[1]) as string[];
}

describe('Dockerfile', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('deploy', { RUN_WORKERS: 'false' });
  });
  afterAll(() => server.stop());

  it('health-checks the port the server listens on (PORT), not a fixed 4000', async () => {
    const [program, ...args] = healthcheckCommand();
    expect(program).toBe('node');
    // Run asynchronously: the server answering the check lives in this process.
    const check = (port: number) =>
      new Promise<number | null>((resolve) => spawn(process.execPath, args, { env: { PORT: String(port) }, timeout: 10_000 }).once('exit', resolve));
    expect(await check(server.app.port)).toBe(0);
    expect(await check(await closedPort())).toBe(1);
  });

  it('starts from a production install (npm ci --omit=dev), as the image runs it: nothing it loads is a devDependency', async () => {
    // The runtime stage's steps, outside Docker: the lock's production packages, then the built dist/.
    const dir = mkdtempSync(path.join(tmpdir(), 'production-install-'));
    try {
      for (const file of ['package.json', 'package-lock.json']) copyFileSync(file, path.join(dir, file));
      await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], dir);
      cpSync('dist', path.join(dir, 'dist'), { recursive: true });
      const started = await spawnProcess({ ...server.env, RUN_WORKERS: 'false' }, (line) => line.msg === 'listening', dir);
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('installs with npm ci only, so a lock that drifted from package.json fails the build', () => {
    const installs = dockerfile.split('\n').filter((line) => /^RUN .*npm (ci|install)/.test(line));
    expect(installs.length).toBeGreaterThan(0);
    for (const line of installs) {
      expect(line).toMatch(/npm ci /);
      expect(line).not.toMatch(/npm install|\|\|/);
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = readFileSync('docker-compose.yml', 'utf8');

  it('publishes MySQL and Redis on 127.0.0.1 only', () => {
    const published = [...compose.matchAll(/^\s*- "([^"]*:(?:3306|6379))"\s*$/gm)].map((match) => match[1]);
    // Both ports are published (so the check below looked at something), each on loopback only.
    expect(published).toHaveLength(2);
    for (const mapping of published) expect(mapping).toMatch(/^127\.0\.0\.1:/);
  });

  it('has no default password or secret: each is required (${VAR:?...})', () => {
    expect(compose).not.toMatch(/ALLOW_EMPTY_PASSWORD/);
    for (const name of ['MYSQL_ROOT_PASSWORD', 'REDIS_PASSWORD', 'JWT_SECRET', 'ADMIN_PASSWORD']) {
      const uses = [...compose.matchAll(new RegExp(`\\$\\{${name}([^}]*)\\}`, 'g'))].map((match) => match[1]);
      expect(uses.length, name).toBeGreaterThan(0);
      for (const use of uses) expect(use, name).toMatch(/^:\?./);
    }
  });

  it('protects Redis with the password and gives both passwords to the app in its URLs', () => {
    expect(compose).toMatch(/- --requirepass\n\s*- \$\{REDIS_PASSWORD:\?/);
    expect(compose).toMatch(/DATABASE_URL: mysql:\/\/root:\$\{MYSQL_ROOT_PASSWORD:\?[^}]*\}@mysql:3306\/concert\n/);
    expect(compose).toMatch(/REDIS_URL: redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]*\}@redis:6379\n/);
  });

  it('gives the app the rest of its settings from .env (METRICS_TOKEN, CORS_ORIGINS…), on the port it publishes', () => {
    // Compose reads .env only to fill in ${...} in this file: without env_file, a setting put there never reached the app.
    expect(compose).toMatch(/env_file:\n\s*- path: \.env\n\s*required: false\n/);
    expect(compose).toMatch(/- "4000:4000"\n/);
    expect(compose).toMatch(/PORT: "4000"\n/);
  });
});

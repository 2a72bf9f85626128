import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';

function startWith(env: Record<string, string>) {
  return spawnSync(process.execPath, ['dist/src/main.js'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });
}

describe('configuration', () => {
  it('has the defaults service.md names', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      databaseUrl: 'mysql://root@127.0.0.1:3306/concert',
      redisUrl: 'redis://127.0.0.1:6379',
      holdTtlSeconds: 300,
      activeTtlSeconds: 900,
      admissionIntervalMs: 1000,
      maxHoldsPerSchedule: 4,
      maxCharge: 1_000_000,
      runWorkers: true,
      seedDemo: true,
      admin: undefined,
      production: false,
      jwtSecretIsDefault: true,
    });
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) }).seedDemo).toBe(false);
    expect(loadConfig({ ADMIN_EMAIL: 'a@b.co', ADMIN_PASSWORD: 'password1', RUN_WORKERS: 'false' })).toMatchObject({ admin: { email: 'a@b.co' }, runWorkers: false });
  });

  it.each([
    ['ADMISSION_INTERVAL_MS', 'soon'],
    ['HOLD_TTL_SECONDS', '0'],
    ['MAX_CHARGE', '-5'],
    ['PORT', '99999'],
    ['RUN_WORKERS', 'maybe'],
    ['DATABASE_URL', 'not a url'],
  ])('stops the process naming %s when it is %s', (name, value) => {
    const result = startWith({ [name]: value });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(name);
  });

  it('requires JWT_SECRET in production', () => {
    const result = startWith({ NODE_ENV: 'production' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('JWT_SECRET');
  });
});

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { testEnv } from './support/harness';

function startWith(env: Record<string, string>) {
  // Most of the test's 60 s: a start-up that takes a second took over 20 s on a loaded machine.
  return spawnSync(process.execPath, ['dist/src/main.js'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 50_000 });
}

describe('configuration', () => {
  it('has the defaults service.md names', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      databaseUrl: 'mysql://root@127.0.0.1:3306/concert',
      redis: { url: 'redis://127.0.0.1:6379' },
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
      passwordHashCost: 15,
      presenceGraceSeconds: 60,
      activeIdleSeconds: 300,
      mysqlStatementTimeoutMs: 10_000,
      limits: { perAccountPerMinute: 600, perIpPerMinute: 1200, loginAttemptsPer15Min: 10, signUpsPerIpPerHour: 0, socketsPerAccount: 5 },
      trustProxy: false,
      corsOrigins: [],
    });
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) })).toMatchObject({ seedDemo: false, passwordHashCost: 17 });
    // A cluster's seeds replace REDIS_URL; a malformed seed stops the start naming the variable.
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001' }).redis).toEqual({
      clusterNodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b', port: 7001 },
      ],
    });
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis-a' })).toThrow(/REDIS_CLUSTER_NODES/);
    // ioredis reads anything but a number after the slash as database 0: named instead.
    expect(loadConfig({ REDIS_URL: 'rediss://:pw@cache:6380/12' }).redis).toEqual({ url: 'rediss://:pw@cache:6380/12' });
    for (const bad of ['redis://127.0.0.1:6379/abc', 'redis://127.0.0.1:6379/1/2', 'http://127.0.0.1:6379', 'localhost']) expect(() => loadConfig({ REDIS_URL: bad })).toThrow(/REDIS_URL/);
    expect(loadConfig({ ADMIN_EMAIL: 'a@b.co', ADMIN_PASSWORD: 'password1', RUN_WORKERS: 'false' })).toMatchObject({ admin: { email: 'a@b.co' }, runWorkers: false });
  });

  it('takes a variable set to nothing for its default, any NODE_ENV name, and switches in any letter case', () => {
    // `PORT=` or `\${RATE_LIMIT_PER_MINUTE:-}` in a compose file: the default, not port 0 or no limit.
    const blank = loadConfig({ PORT: '', RATE_LIMIT_PER_MINUTE: '', RATE_LIMIT_IP_PER_MINUTE: ' ', MAX_SOCKETS_PER_USER: '', JWT_SECRET: '', RUN_WORKERS: '', DATABASE_URL: '', HOLD_TTL_SECONDS: '', NODE_ENV: '' });
    expect(blank).toMatchObject({
      port: 4000,
      limits: { perAccountPerMinute: 600, perIpPerMinute: 1200, socketsPerAccount: 5 },
      jwtSecretIsDefault: true,
      runWorkers: true,
      databaseUrl: 'mysql://root@127.0.0.1:3306/concert',
      holdTtlSeconds: 300,
      nodeEnv: 'development',
    });
    // Another environment's name (or production misspelt) starts as production: its own secret
    // required, no demo data; only development and test, in any letter case, run without those checks.
    for (const name of ['staging', 'Production', 'prod', 'production ']) {
      expect(() => loadConfig({ NODE_ENV: name })).toThrow(/JWT_SECRET/);
      expect(loadConfig({ NODE_ENV: name, JWT_SECRET: 's'.repeat(32) })).toMatchObject({ production: true, seedDemo: false, jwtSecretIsDefault: false });
    }
    expect(loadConfig({ NODE_ENV: 'Development' })).toMatchObject({ nodeEnv: 'development', production: false, jwtSecretIsDefault: true });
    expect(loadConfig({ NODE_ENV: 'TEST', TEST_LIMIT_WINDOW_SECONDS: '2' })).toMatchObject({ nodeEnv: 'test', production: false });
    expect(loadConfig({ RUN_WORKERS: 'FALSE', TRUST_PROXY: 'True', SEED_DEMO: 'no' })).toMatchObject({ runWorkers: false, trustProxy: true, seedDemo: false });
    expect(() => loadConfig({ RUN_WORKERS: 'maybe' })).toThrow(/RUN_WORKERS/);
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

  // A throwaway database, Redis prefix and free port: should the check fail, the server starts there, not on :4000.
  const production = (overrides: Record<string, string>) => startWith({ ...testEnv('config_production'), NODE_ENV: 'production', ...overrides });

  it.each([
    ['empty', ''],
    ['only white space', '   '],
    ['the development default', 'dev-only-secret-change-me-0123456789'],
    ['the old compose default', 'change-me-in-production-please'],
    ['the benchmark’s', 'bench-only-secret-0123456789abcdef'],
  ])('refuses to start in production with a JWT_SECRET that is %s (anyone could sign an ADMIN token)', (_label, secret) => {
    const result = production({ JWT_SECRET: secret });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('JWT_SECRET');
  });

  it('refuses in production every JWT_SECRET and ADMIN_PASSWORD written out in this repository (anyone can read them)', () => {
    const files = execFileSync('git', ['ls-files'], { encoding: 'utf8' })
      .split('\n')
      .filter((file) => file !== '' && file !== 'package-lock.json' && !/\.(png|svg|ico|woff2?)$/.test(file));
    // NAME: 'value' or NAME = "value" (not a call such as 'k'.repeat(48)), or NAME=value as a shell line has it.
    const literal = /\b(JWT_SECRET|ADMIN_PASSWORD)\b(?:['"]?\s*[:=]\s*['"]([^'"$\s]+)['"](?![.\w])|=([^\s'"$`]+))/g;
    const written = files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(literal)].map((match) => ({ file, name: match[1]!, value: (match[2] ?? match[3])! })));
    // The scan finds what it looks for (the benchmark's secret, the tests' admin passwords).
    expect(written.length).toBeGreaterThanOrEqual(4);
    for (const { file, name, value } of written) {
      const env = { NODE_ENV: 'production', PASSWORD_HASH_COST: '15', JWT_SECRET: 'k'.repeat(48), ADMIN_EMAIL: 'boss@example.test', [name]: value };
      expect(() => loadConfig(env), `${name} ${value} (${file})`).toThrow(name);
    }
  });

  it('refuses the published example admin password in production', () => {
    const result = production({ JWT_SECRET: 'k'.repeat(48), ADMIN_PASSWORD: 'change-me-please' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('ADMIN_PASSWORD');
  });

  it('accepts a secret of its own in production, and calls one under 32 bytes weak (warned about at start, not refused)', () => {
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'é'.repeat(16) })).toMatchObject({ production: true, weakJwtSecret: false });
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'é'.repeat(15) })).toMatchObject({ production: true, weakJwtSecret: true });
  });

  it('refuses a password hash cost below 2^15 in production, naming PASSWORD_HASH_COST', () => {
    const result = production({ JWT_SECRET: 'k'.repeat(48), PASSWORD_HASH_COST: '14' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PASSWORD_HASH_COST');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'k'.repeat(48), PASSWORD_HASH_COST: '15' }).passwordHashCost).toBe(15);
  });

  it('refuses a number past what a timer takes, naming the variable', () => {
    expect(() => loadConfig({ MYSQL_STATEMENT_TIMEOUT_MS: '3000000000' })).toThrow(/MYSQL_STATEMENT_TIMEOUT_MS: must be at most 2147483647/);
    // Seconds become milliseconds: 3,000,000 s is past it, and a sweep every 3,000,000 s would run every millisecond.
    for (const name of ['ACCOUNT_CHECK_SECONDS', 'HOLD_TTL_SECONDS', 'ACTIVE_TTL_SECONDS', 'PRESENCE_GRACE_SECONDS', 'ACTIVE_IDLE_SECONDS']) {
      expect(() => loadConfig({ [name]: '3000000' })).toThrow(new RegExp(`${name}: must be at most 2147483 `));
      expect(loadConfig({ [name]: '2147483' })).toBeDefined();
    }
  });

  it('takes the password hash cost as a whole number only (not 1e1)', () => {
    expect(() => loadConfig({ PASSWORD_HASH_COST: '1e1' })).toThrow(/PASSWORD_HASH_COST: must be a positive integer/);
    expect(loadConfig({ PASSWORD_HASH_COST: '10' }).passwordHashCost).toBe(10);
  });

  it('refuses what would start and then fail, or mean something else, naming the variable', () => {
    const refusal = (name: string, value: string) => {
      try {
        loadConfig({ [name]: value });
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    // Numbers are digits: 0x10, 1e3 and 1.0 are not counts anyone writes on purpose.
    for (const value of ['0x10', '1e3', '10.0']) expect(refusal('HOLD_TTL_SECONDS', value)).toMatch(/HOLD_TTL_SECONDS: must be a positive integer/);
    expect(refusal('PORT', '0x10')).toMatch(/PORT: must be a port number/);
    // A limit past 2^53 made the rate limiter refuse to start, naming none of the settings.
    expect(refusal('RATE_LIMIT_PER_MINUTE', '1e21')).toMatch(/RATE_LIMIT_PER_MINUTE: must be a whole number/);
    expect(refusal('RATE_LIMIT_IP_PER_MINUTE', '99999999999')).toMatch(/RATE_LIMIT_IP_PER_MINUTE: must be at most 2147483647/);
    expect(refusal('MYSQL_STATEMENT_TIMEOUT_MS', '1')).toMatch(/MYSQL_STATEMENT_TIMEOUT_MS: must be at least 100/);
    expect(refusal('DATABASE_URL', 'postgres://root@127.0.0.1:5432/concert')).toMatch(/DATABASE_URL: must start with mysql:\/\//);
    expect(refusal('DATABASE_URL', 'mysql://root@127.0.0.1:3306/')).toMatch(/DATABASE_URL: must name the database/);
    // Spaces around a URL are dropped, as around a number (ioredis refused them, naming no setting).
    expect(loadConfig({ REDIS_URL: ' redis://127.0.0.1:6379/3 ' }).redis).toEqual({ url: 'redis://127.0.0.1:6379/3' });
    expect(loadConfig({ DATABASE_URL: ' mysql://root@127.0.0.1:3306/x ', HOLD_TTL_SECONDS: ' 16 ' })).toMatchObject({ databaseUrl: 'mysql://root@127.0.0.1:3306/x', holdTtlSeconds: 16 });
  });

  it('requires JWT_SECRET in production', () => {
    const result = startWith({ NODE_ENV: 'production' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('JWT_SECRET');
  });
  it('takes MYSQL_STATEMENT_TIMEOUT_MS of exactly its minimum (100 ms) and refuses 99', () => {
    expect(loadConfig({ MYSQL_STATEMENT_TIMEOUT_MS: '100' }).mysqlStatementTimeoutMs).toBe(100);
    expect(() => loadConfig({ MYSQL_STATEMENT_TIMEOUT_MS: '99' })).toThrow(/MYSQL_STATEMENT_TIMEOUT_MS: must be at least 100/);
  });
});

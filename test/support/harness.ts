import { createConnection } from 'mysql2/promise';
import { Redis } from 'ioredis';
import { startApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';

export const ADMIN = { email: 'admin@example.test', password: 'admin-password' };
const MYSQL_ROOT = 'mysql://root@127.0.0.1:3306';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Set when several checkouts run their suites on one machine at once, so their databases and keys never meet. */
const NAMESPACE = (process.env.TEST_NAMESPACE ?? '').replace(/\W/g, '_');

/** Environment for a test file: its own database and Redis key prefix, short timings, cheap password hashing. */
export function testEnv(testName: string, overrides: Record<string, string> = {}): Record<string, string> {
  const name = NAMESPACE ? `${NAMESPACE}_${testName}` : testName;
  return {
    NODE_ENV: 'test',
    PORT: '0',
    DATABASE_URL: `${MYSQL_ROOT}/ct_test_${name.replace(/\W/g, '_')}`,
    REDIS_URL,
    REDIS_KEY_PREFIX: `test:${name}`,
    PASSWORD_HASH_COST: '4',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SEED_DEMO: 'false',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ADMISSION_INTERVAL_MS: '100',
    ...overrides,
  };
}

/** Drops the file's database and Redis keys so each run starts clean. */
export async function resetState(env: Record<string, string>): Promise<void> {
  const database = new URL(env.DATABASE_URL as string).pathname.slice(1);
  const mysql = await createConnection(MYSQL_ROOT);
  await mysql.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await mysql.end();
  const redis = new Redis(env.REDIS_URL as string);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.REDIS_KEY_PREFIX}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

export interface TestServer {
  app: App;
  env: Record<string, string>;
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/** Starts the real app in this process, on a free port, against the real MariaDB and Redis. */
export async function startTestServer(name: string, overrides: Record<string, string> = {}, options: { reset?: boolean } = {}): Promise<TestServer> {
  const env = testEnv(name, overrides);
  if (options.reset !== false) await resetState(env);
  const config = loadConfig(env);
  const app = await startApp(config, createLogger(config.logLevel));
  return {
    app,
    env,
    url: `http://127.0.0.1:${app.port}/graphql`,
    wsUrl: `ws://127.0.0.1:${app.port}/graphql`,
    stop: () => app.stop(),
  };
}

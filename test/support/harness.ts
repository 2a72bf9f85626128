import { randomBytes } from 'node:crypto';
import { startApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger, type Logger } from '../../src/logger';
import type { RedisTarget } from '../../src/redis';
import { LOCAL_MYSQL_ROOT, LOCAL_REDIS_URL, resetSandbox, sandboxEnv } from '../../support/sandbox';

// Drawn for each test process, so a production-mode server of the tests accepts it (see EXAMPLE_ADMIN_PASSWORDS).
export const ADMIN = { email: 'admin@example.test', password: `admin-${randomBytes(9).toString('hex')}` };
/** The servers to test against; TEST_MYSQL_URL (no database in it) for a MySQL with a root password. */
export const TEST_MYSQL_ROOT = process.env.TEST_MYSQL_URL ?? LOCAL_MYSQL_ROOT;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? LOCAL_REDIS_URL;
/** Seeds of a Redis Cluster (test/support/redis-cluster.sh starts one) to run against instead of TEST_REDIS_URL. */
const REDIS_CLUSTER_NODES = process.env.TEST_REDIS_CLUSTER_NODES;

/** The Redis the tests use, for tests that talk to Redis without a server. */
export const TEST_REDIS: RedisTarget = REDIS_CLUSTER_NODES
  ? { clusterNodes: REDIS_CLUSTER_NODES.split(',').map((seed) => ({ host: seed.split(':')[0] as string, port: Number(seed.split(':')[1]) })) }
  : { url: TEST_REDIS_URL };
/** Set when several checkouts run their suites on one machine at once, so their databases and keys never meet. */
const NAMESPACE = (process.env.TEST_NAMESPACE ?? '').replace(/\W/g, '_');

/** Environment for a test file: its own database and Redis key prefix, short timings, cheap password hashing. */
export function testEnv(testName: string, overrides: Record<string, string> = {}): Record<string, string> {
  const name = NAMESPACE ? `${NAMESPACE}_${testName}` : testName;
  return {
    NODE_ENV: 'test',
    ...sandboxEnv({ mysqlRoot: TEST_MYSQL_ROOT, database: `ct_test_${name.replace(/\W/g, '_')}`, redisUrl: TEST_REDIS_URL, redisClusterNodes: REDIS_CLUSTER_NODES, redisPrefix: `test:${name}` }),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ADMISSION_INTERVAL_MS: '100',
    // Most tests enter fans and then leave them alone for a while: presence rules apply only where a
    // test asks for them with short values of its own.
    PRESENCE_GRACE_SECONDS: '3600',
    ACTIVE_IDLE_SECONDS: '3600',
    // Each replica asks MySQL about the accounts it served on a timer: the statement counts some tests
    // take of a request would catch it. Only test/accounts.test.ts, with a short period, waits for it.
    ACCOUNT_CHECK_SECONDS: '3600',
    // The suite signs up thousands of fans from 127.0.0.1: every request goes through the limits, set
    // so high that only test/limits*.test.ts, which sets them low, ever reaches one.
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
    LOGIN_ATTEMPTS_PER_15_MIN: '1000000',
    MAX_SOCKETS_PER_USER: '1000',
    SEAT_MAP_FIELDS_PER_MINUTE: '1000000000',
    ...overrides,
  };
}

export interface TestServer {
  app: App;
  env: Record<string, string>;
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/** The name of the test server's own database. */
export const databaseOf = (server: Pick<TestServer, 'env'>): string => new URL(server.env.DATABASE_URL!).pathname.slice(1);

/** Starts the real app in this process, on a free port, against the real MariaDB and Redis. */
export async function startTestServer(name: string, overrides: Record<string, string> = {}, options: { reset?: boolean; logger?: Logger } = {}): Promise<TestServer> {
  const env = testEnv(name, overrides);
  if (options.reset !== false) await resetSandbox(env);
  const config = loadConfig(env);
  const app = await startApp(config, options.logger ?? createLogger(config.logLevel));
  return {
    app,
    env,
    url: `http://127.0.0.1:${app.port}/graphql`,
    wsUrl: `ws://127.0.0.1:${app.port}/graphql`,
    stop: () => app.stop(),
  };
}

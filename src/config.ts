import { cleanEnv, makeValidator, str } from 'envalid';
import type { RedisTarget } from './redis';

/** The largest delay a Node timer takes (a larger one fires at once, with only a warning) and GraphQL's Int. */
const MAX_INT = 2_147_483_647;

/** Node's longest timer delay: a longer one fires after 1 ms, and again, with only a warning. */
export const MAX_TIMER_MS = MAX_INT;

/** Digits only: Number() would also take 0x10, 1e3 or 1.0, none of which anyone means as a count. */
const wholeNumber = (input: string): number => (/^\s*\d+\s*$/.test(input) ? Number(input) : Number.NaN);

/** A positive whole number up to `max`. */
function positiveUpTo(input: string, max: number, why = ''): number {
  const value = wholeNumber(input);
  if (!Number.isInteger(value) || value < 1) throw new Error('must be a positive integer');
  if (value > max) throw new Error(`must be at most ${max}${why}`);
  return value;
}

const positiveInt = makeValidator<number>((input) => positiveUpTo(input, MAX_INT));

/** The longest timer delay in whole seconds. */
const MAX_TIMER_SECONDS = Math.floor(MAX_INT / 1000);

/** Seconds that become a timer's delay (or a period derived from one) in milliseconds: past MAX_INT ms, Node fires it at once, and again. */
const timerSeconds = makeValidator<number>((input) => positiveUpTo(input, MAX_TIMER_SECONDS, ' (24.8 days: a longer time does not fit a timer)'));

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** A switch, in any letter case (`TRUE`, `False`, `1`, `no`…). */
const flag = makeValidator<boolean>((input) => {
  const word = input.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new Error('must be true or false (also 1/0, yes/no, on/off)');
});

/** A limit: a positive integer, or 0 for no limit. */
const limit = makeValidator<number>((input) => {
  const value = wholeNumber(input);
  if (!Number.isInteger(value) || value < 0) throw new Error('must be a whole number (0 turns the limit off)');
  if (value > MAX_INT) throw new Error(`must be at most ${MAX_INT}`);
  return value;
});

/** A statement bound: below this, MySQL's own answers to a healthy request (a scrypt-free sign-up) could not come in time. */
const MIN_STATEMENT_TIMEOUT_MS = 100;

/** A MySQL URL with the database to use (`mysql://user:password@host:3306/concert`). */
const mysqlUrl = makeValidator<string>((input) => {
  let parsed: URL;
  try {
    parsed = new URL(input.trim());
  } catch {
    throw new Error('must be a URL such as mysql://user:password@127.0.0.1:3306/concert');
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') throw new Error('must start with mysql:// (MySQL 8 or MariaDB)');
  if (!/^\/[^/]+$/.test(parsed.pathname)) throw new Error('must name the database after the host (mysql://host:3306/concert)');
  return input.trim();
});

/** Comma-separated origins (scheme://host[:port]); empty allows none. */
const originList = makeValidator<string[]>((input) => {
  const origins = input.split(',').map((origin) => origin.trim()).filter(Boolean);
  for (const origin of origins) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new Error(`"${origin}" is not an origin such as https://tickets.example.com`);
    }
    if (parsed.origin !== origin) throw new Error(`"${origin}" is not an origin: write it as ${parsed.origin}`);
  }
  return origins;
});

/** `host:port,host:port…`: the seed nodes of a Redis Cluster; empty means a single Redis (REDIS_URL). */
const clusterNodes = makeValidator<{ host: string; port: number }[]>((input) => {
  if (input.trim() === '') return [];
  return input.split(',').map((seed) => {
    const match = /^\s*([^\s:]+):(\d{1,5})\s*$/.exec(seed);
    const port = Number(match?.[2]);
    if (!match?.[1] || port < 1 || port > 65535) throw new Error(`"${seed}" is not host:port`);
    return { host: match[1], port };
  });
});

/**
 * A Redis URL: redis:// or rediss://, and a database index if any as a number (`/2`): ioredis reads
 * anything else there as database 0, another deployment's perhaps.
 */
const redisUrl = makeValidator<string>((input) => {
  let parsed: URL;
  try {
    parsed = new URL(input);
  } catch {
    throw new Error('must be a URL such as redis://127.0.0.1:6379 or redis://:password@host:6379/2');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error('must start with redis:// or rediss://');
  if (!/^\/?(\d{1,9})?$/.test(parsed.pathname)) throw new Error(`the database index must be a number (redis://host:6379/2), not "${parsed.pathname.slice(1)}"`);
  // As URL read it: ioredis refuses the spaces around it that URL ignores.
  return input.trim();
});

/** A TCP port; 0 asks the OS for a free one (used by the tests). */
const listenPort = makeValidator<number>((input) => {
  const value = wholeNumber(input);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error('must be a port number from 0 to 65535');
  return value;
});

const DEV_JWT_SECRET = 'dev-only-secret-change-me-0123456789';
const MIN_JWT_SECRET_BYTES = 32;
/**
 * Values this repository spells out (now or in its history), so anyone can sign or log in with them:
 * the development default, the old compose defaults, the benchmark's, the rehearsal's and the tests'.
 * test/config.test.ts checks that every JWT_SECRET and ADMIN_PASSWORD written out as such (NAME: 'value',
 * NAME=value) in the repository is here; those passed through a helper are added by hand.
 */
const EXAMPLE_JWT_SECRETS = new Set([
  DEV_JWT_SECRET,
  'change-me-in-production-please',
  'bench-only-secret-0123456789abcdef',
  'rehearsal-only-secret-0123456789abcdef',
  'a-production-secret-of-at-least-32-bytes',
  'test-secret',
]);
const EXAMPLE_ADMIN_PASSWORDS = new Set([
  'change-me-please',
  'admin',
  'admin-password',
  'rehearsal-admin-password',
  'a-new-admin-password',
  'password1',
  'operators-password',
  'a-new-password',
]);
/** Below 2^15, scrypt no longer slows an offline guess at a leaked hash enough (current guidance is 2^17). */
const MIN_PRODUCTION_HASH_COST = 15;

/** Reads and validates the environment once; an invalid value stops the process naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  // A variable set to nothing (`PORT=`, as a compose file's `\${PORT:-}` gives) means its default, not
  // zero or an empty key: an empty limit would turn the limit off.
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  // NODE_ENV takes any name. Only development and test (in any letter case) run without production's
  // checks: a misspelt or other name (Production, prod, staging) must not start with the published
  // secret. Outside development no internal detail reaches a client; test allows the tests' windows.
  const environment = (given.NODE_ENV ?? 'development').trim().toLowerCase();
  const production = environment !== 'development' && environment !== 'test';
  const raw = cleanEnv(
    given,
    {
      PORT: listenPort({ default: 4000 }),
      DATABASE_URL: mysqlUrl({ default: 'mysql://root@127.0.0.1:3306/concert' }),
      REDIS_URL: redisUrl({ default: 'redis://127.0.0.1:6379' }),
      REDIS_CLUSTER_NODES: clusterNodes({ default: [], desc: 'seed nodes of a Redis Cluster; when set, REDIS_URL is ignored' }),
      REDIS_KEY_PREFIX: str({ default: 'ct', desc: 'namespace for every Redis key, BullMQ queue and pub/sub channel' }),
      JWT_SECRET: production ? str({ desc: 'required in production' }) : str({ default: DEV_JWT_SECRET }),
      JWT_TTL_SECONDS: positiveInt({ default: 86_400 }),
      ACCOUNT_CHECK_SECONDS: timerSeconds({ default: 10, desc: 'how often each replica asks MySQL whether the accounts it served still exist' }),
      // Production's default is OWASP's (128 MiB a hash); elsewhere production's floor (32 MiB), a
      // quarter of the time: a demo or a test harness signing up fans by the dozen from one machine
      // would otherwise meet the hash queue's limit (RATE_LIMITED) within seconds.
      PASSWORD_HASH_COST: positiveInt({ default: production ? 17 : MIN_PRODUCTION_HASH_COST, desc: 'scrypt cost as log2(N)' }),
      ADMIN_EMAIL: str({ default: '' }),
      ADMIN_PASSWORD: str({ default: '' }),
      HOLD_TTL_SECONDS: timerSeconds({ default: 300 }),
      ACTIVE_TTL_SECONDS: timerSeconds({ default: 900 }),
      ADMISSION_INTERVAL_MS: positiveInt({ default: 1000 }),
      PRESENCE_GRACE_SECONDS: timerSeconds({ default: 60 }),
      ACTIVE_IDLE_SECONDS: timerSeconds({ default: 300 }),
      MAX_HOLDS_PER_SCHEDULE: positiveInt({ default: 4 }),
      MAX_CHARGE: positiveInt({ default: 1_000_000 }),
      MYSQL_STATEMENT_TIMEOUT_MS: positiveInt({ default: 10_000, desc: 'longest wait for one SQL statement, lock waits included' }),
      RUN_WORKERS: flag({ default: true }),
      SEED_DEMO: flag({ default: !production }),
      RATE_LIMIT_PER_MINUTE: limit({ default: 600 }),
      RATE_LIMIT_IP_PER_MINUTE: limit({ default: 1200 }),
      LOGIN_ATTEMPTS_PER_15_MIN: limit({ default: 10 }),
      // Off by default: the contract names no such limit, and tests and load tools sign many fans up from one address.
      SIGNUPS_PER_IP_PER_HOUR: limit({ default: 0 }),
      MAX_SOCKETS_PER_USER: limit({ default: 5 }),
      // Twenty maps a minute of the largest schedule (100,000 seats) with every field, ~33 as the web app reads them
      // (it reads a map again after a SEAT_UNAVAILABLE, at most once every 10 s).
      SEAT_MAP_FIELDS_PER_MINUTE: limit({ default: 10_000_000 }),
      TRUST_PROXY: flag({ default: false }),
      CORS_ORIGINS: originList({ default: [] }),
      METRICS_TOKEN: str({ default: '', desc: 'when set, GET /metrics needs "Authorization: Bearer <this>"' }),
      // Tests only: every limit window lasts this many seconds instead of a minute or 15 minutes.
      TEST_LIMIT_WINDOW_SECONDS: limit({ default: 0 }),
      LOG_LEVEL: str({ choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' }),
    },
    {
      reporter: ({ errors }) => {
        const lines = Object.entries(errors).map(([name, error]) => `  ${name}: ${error?.message ?? 'invalid'}`);
        if (lines.length === 0) return;
        throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
      },
    },
  );
  if (raw.PASSWORD_HASH_COST < 1 || raw.PASSWORD_HASH_COST > 20 || !Number.isInteger(raw.PASSWORD_HASH_COST)) {
    throw new ConfigError('Invalid configuration:\n  PASSWORD_HASH_COST: must be an integer from 1 to 20');
  }
  if (raw.MYSQL_STATEMENT_TIMEOUT_MS < MIN_STATEMENT_TIMEOUT_MS) {
    throw new ConfigError(`Invalid configuration:\n  MYSQL_STATEMENT_TIMEOUT_MS: must be at least ${MIN_STATEMENT_TIMEOUT_MS}`);
  }
  if (raw.TEST_LIMIT_WINDOW_SECONDS > 0 && environment !== 'test') {
    throw new ConfigError('Invalid configuration:\n  TEST_LIMIT_WINDOW_SECONDS: only for NODE_ENV=test');
  }
  if (production) {
    const problems = productionProblems(raw.JWT_SECRET, raw.ADMIN_PASSWORD, raw.PASSWORD_HASH_COST);
    if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  }
  return {
    production,
    nodeEnv: environment,
    port: raw.PORT,
    databaseUrl: raw.DATABASE_URL,
    redis: (raw.REDIS_CLUSTER_NODES.length > 0 ? { clusterNodes: raw.REDIS_CLUSTER_NODES } : { url: raw.REDIS_URL }) as RedisTarget,
    redisPrefix: raw.REDIS_KEY_PREFIX,
    jwtSecret: raw.JWT_SECRET,
    jwtSecretIsDefault: raw.JWT_SECRET === DEV_JWT_SECRET,
    /** HS256 keys shorter than the hash output can be guessed offline from any one token: warned about at start. */
    weakJwtSecret: Buffer.byteLength(raw.JWT_SECRET, 'utf8') < MIN_JWT_SECRET_BYTES,
    jwtTtlSeconds: raw.JWT_TTL_SECONDS,
    accountCheckSeconds: raw.ACCOUNT_CHECK_SECONDS,
    passwordHashCost: raw.PASSWORD_HASH_COST,
    admin: raw.ADMIN_EMAIL && raw.ADMIN_PASSWORD ? { email: raw.ADMIN_EMAIL, password: raw.ADMIN_PASSWORD } : undefined,
    /** One of ADMIN_EMAIL and ADMIN_PASSWORD without the other: no admin is made (warned about at start). */
    adminHalfSet: Boolean(raw.ADMIN_EMAIL) !== Boolean(raw.ADMIN_PASSWORD),
    holdTtlSeconds: raw.HOLD_TTL_SECONDS,
    activeTtlSeconds: raw.ACTIVE_TTL_SECONDS,
    admissionIntervalMs: raw.ADMISSION_INTERVAL_MS,
    presenceGraceSeconds: raw.PRESENCE_GRACE_SECONDS,
    activeIdleSeconds: raw.ACTIVE_IDLE_SECONDS,
    maxHoldsPerSchedule: raw.MAX_HOLDS_PER_SCHEDULE,
    maxCharge: raw.MAX_CHARGE,
    mysqlStatementTimeoutMs: raw.MYSQL_STATEMENT_TIMEOUT_MS,
    runWorkers: raw.RUN_WORKERS,
    seedDemo: raw.SEED_DEMO,
    logLevel: raw.LOG_LEVEL,
    limits: {
      perAccountPerMinute: raw.RATE_LIMIT_PER_MINUTE,
      perIpPerMinute: raw.RATE_LIMIT_IP_PER_MINUTE,
      loginAttemptsPer15Min: raw.LOGIN_ATTEMPTS_PER_15_MIN,
      signUpsPerIpPerHour: raw.SIGNUPS_PER_IP_PER_HOUR,
      socketsPerAccount: raw.MAX_SOCKETS_PER_USER,
      seatMapFieldsPerMinute: raw.SEAT_MAP_FIELDS_PER_MINUTE,
      presenceGraceSeconds: raw.PRESENCE_GRACE_SECONDS,
      /** Window lengths: a minute, 15 minutes and an hour, unless a test shortens them. */
      operationWindowSeconds: raw.TEST_LIMIT_WINDOW_SECONDS || 60,
      loginWindowSeconds: raw.TEST_LIMIT_WINDOW_SECONDS || 900,
      signUpWindowSeconds: raw.TEST_LIMIT_WINDOW_SECONDS || 3600,
    },
    trustProxy: raw.TRUST_PROXY,
    corsOrigins: raw.CORS_ORIGINS,
    /** Empty: /metrics is open, as the contract has it. */
    metricsToken: raw.METRICS_TOKEN,
  };
}

/**
 * What production refuses: a token signed with a published secret would pass as any user, ADMIN
 * included (anyone can sign one); a cheap password hash makes a leaked users table quick to crack.
 * A short secret of the operator's own is only warned about (weakJwtSecret): the contract asks for a
 * secret in production, not for a length, and refusing it would stop a deployment that works.
 */
function productionProblems(jwtSecret: string, adminPassword: string, passwordHashCost: number): string[] {
  const problems: string[] = [];
  // Blank counts as unset: a secret of spaces is one anyone would try.
  if (jwtSecret.trim() === '') problems.push('JWT_SECRET: required in production (generate one: openssl rand -base64 48)');
  else if (EXAMPLE_JWT_SECRETS.has(jwtSecret)) problems.push('JWT_SECRET: is a published example value; generate your own (openssl rand -base64 48)');
  if (EXAMPLE_ADMIN_PASSWORDS.has(adminPassword)) problems.push('ADMIN_PASSWORD: is a published example value; choose your own');
  if (passwordHashCost < MIN_PRODUCTION_HASH_COST) problems.push(`PASSWORD_HASH_COST: must be at least ${MIN_PRODUCTION_HASH_COST} in production`);
  return problems;
}

export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {}

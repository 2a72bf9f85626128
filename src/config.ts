import { bool, cleanEnv, makeValidator, num, str, url } from 'envalid';

const positiveInt = makeValidator<number>((input) => {
  const value = Number(input);
  if (!Number.isInteger(value) || value < 1) throw new Error('must be a positive integer');
  return value;
});

/** A TCP port; 0 asks the OS for a free one (used by the tests). */
const listenPort = makeValidator<number>((input) => {
  const value = Number(input);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error('must be a port number from 0 to 65535');
  return value;
});

const DEV_JWT_SECRET = 'dev-only-secret-change-me-0123456789';

/** Reads and validates the environment once; an invalid value stops the process naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const production = env.NODE_ENV === 'production';
  const raw = cleanEnv(
    env,
    {
      NODE_ENV: str({ choices: ['development', 'production', 'test'], default: 'development' }),
      PORT: listenPort({ default: 4000 }),
      DATABASE_URL: url({ default: 'mysql://root@127.0.0.1:3306/concert' }),
      REDIS_URL: url({ default: 'redis://127.0.0.1:6379' }),
      REDIS_KEY_PREFIX: str({ default: 'ct', desc: 'namespace for every Redis key, BullMQ queue and pub/sub channel' }),
      JWT_SECRET: production ? str({ desc: 'required in production' }) : str({ default: DEV_JWT_SECRET }),
      JWT_TTL_SECONDS: positiveInt({ default: 86_400 }),
      PASSWORD_HASH_COST: num({ default: 15, desc: 'scrypt cost as log2(N)' }),
      ADMIN_EMAIL: str({ default: '' }),
      ADMIN_PASSWORD: str({ default: '' }),
      HOLD_TTL_SECONDS: positiveInt({ default: 300 }),
      ACTIVE_TTL_SECONDS: positiveInt({ default: 900 }),
      ADMISSION_INTERVAL_MS: positiveInt({ default: 1000 }),
      MAX_HOLDS_PER_SCHEDULE: positiveInt({ default: 4 }),
      MAX_CHARGE: positiveInt({ default: 1_000_000 }),
      RUN_WORKERS: bool({ default: true }),
      SEED_DEMO: bool({ default: !production }),
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
  return {
    production,
    nodeEnv: raw.NODE_ENV,
    port: raw.PORT,
    databaseUrl: raw.DATABASE_URL,
    redisUrl: raw.REDIS_URL,
    redisPrefix: raw.REDIS_KEY_PREFIX,
    jwtSecret: raw.JWT_SECRET,
    jwtSecretIsDefault: raw.JWT_SECRET === DEV_JWT_SECRET,
    jwtTtlSeconds: raw.JWT_TTL_SECONDS,
    passwordHashCost: raw.PASSWORD_HASH_COST,
    admin: raw.ADMIN_EMAIL && raw.ADMIN_PASSWORD ? { email: raw.ADMIN_EMAIL, password: raw.ADMIN_PASSWORD } : undefined,
    holdTtlSeconds: raw.HOLD_TTL_SECONDS,
    activeTtlSeconds: raw.ACTIVE_TTL_SECONDS,
    admissionIntervalMs: raw.ADMISSION_INTERVAL_MS,
    maxHoldsPerSchedule: raw.MAX_HOLDS_PER_SCHEDULE,
    maxCharge: raw.MAX_CHARGE,
    runWorkers: raw.RUN_WORKERS,
    seedDemo: raw.SEED_DEMO,
    logLevel: raw.LOG_LEVEL,
  };
}

export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {}

import { Redis, type RedisOptions, type Result } from 'ioredis';
import { HOLD_EXTEND, HOLD_RELEASE, HOLD_SEAT, HOLD_STATUS, HOLD_SWEEP } from './hold-scripts';
import { QUEUE_ADMIT, QUEUE_ENTER, QUEUE_LEAVE, QUEUE_STATUS } from './queue-scripts';

export { redisKeys, type RedisKeys } from './keys';

type Arg = string | number;

/** Typed entry points for the Lua scripts (ioredis adds one method per defineCommand). */
declare module 'ioredis' {
  interface RedisCommander<Context> {
    queueStatus(wait: string, active: string, stats: string, ...users: Arg[]): Result<number[], Context>;
    queueEnter(wait: string, active: string, stats: string, seq: string, user: Arg): Result<number[], Context>;
    queueLeave(wait: string, active: string, stats: string, user: Arg): Result<number[], Context>;
    queueAdmit(wait: string, active: string, stats: string, admissions: string, ...args: Arg[]): Result<number[], Context>;
    holdSeat(bySeat: string, expiry: string, perUser: string, ...args: Arg[]): Result<string[], Context>;
    holdRelease(bySeat: string, expiry: string, perUser: string, ...args: Arg[]): Result<[number, string[]], Context>;
    holdStatus(bySeat: string, expiry: string, perUser: string, ...seats: Arg[]): Result<[string[], string[]], Context>;
    holdSweep(bySeat: string, expiry: string, perUser: string): Result<[string[], number], Context>;
    holdExtend(bySeat: string, expiry: string, perUser: string, ...args: Arg[]): Result<[string[], string[]], Context>;
  }
}

const SCRIPTS = {
  queueStatus: { numberOfKeys: 3, lua: QUEUE_STATUS },
  queueEnter: { numberOfKeys: 4, lua: QUEUE_ENTER },
  queueLeave: { numberOfKeys: 3, lua: QUEUE_LEAVE },
  queueAdmit: { numberOfKeys: 4, lua: QUEUE_ADMIT },
  holdSeat: { numberOfKeys: 3, lua: HOLD_SEAT },
  holdRelease: { numberOfKeys: 3, lua: HOLD_RELEASE },
  holdStatus: { numberOfKeys: 3, lua: HOLD_STATUS },
  holdSweep: { numberOfKeys: 3, lua: HOLD_SWEEP },
  holdExtend: { numberOfKeys: 3, lua: HOLD_EXTEND },
};

/**
 * A Redis connection for request work: it fails fast while Redis is away (so clients get
 * SERVICE_UNAVAILABLE instead of hanging) and reconnects by itself.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    ...options,
  });
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
  // Errors surface on the commands that hit them; the connection itself just keeps retrying.
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves once the connection is ready (startup waits for Redis rather than failing requests). */
export function redisReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}

import { Redis, type RedisOptions } from 'ioredis';
import { HOLD_SCRIPTS } from './hold-scripts';
import { QUEUE_SCRIPTS } from './queue-scripts';
import { registerScripts } from './script';

export { redisKeys, type RedisKeys } from './keys';
export { pipelineScript, runScript, type ReplyOf } from './script';

/** Every Lua script; each connection registers them all. */
export const SCRIPTS = [...QUEUE_SCRIPTS, ...HOLD_SCRIPTS] as const;

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
  registerScripts(redis, SCRIPTS);
  // Errors surface on the commands that hit them; the connection itself just keeps retrying.
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves once the connection is ready (startup waits for Redis rather than failing requests). */
export function redisReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}

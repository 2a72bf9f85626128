import { randomUUID } from 'node:crypto';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLimits, type LimitSettings } from '../src/limits';
import { createRedis, redisKeys, redisReady, type RedisClient } from '../src/redis';
import { wipeRedisKeys } from '../support/sandbox';
import { TEST_REDIS } from './support/harness';

// OperationLimits straight against Redis (a single server, or the cluster under test:cluster), no
// server: the account and address counters of one check, the refusal from memory, and a Redis that
// does not answer.
const prefix = `test:operation-limits:${randomUUID()}`;
const keys = redisKeys(prefix);
const SETTINGS: LimitSettings = { perAccountPerMinute: 3, perIpPerMinute: 5, loginAttemptsPer15Min: 3, socketsPerAccount: 5, operationWindowSeconds: 60, loginWindowSeconds: 900 };
let redis: RedisClient;
let nextId = 1;

const refusals = () => new Counter({ name: 'refusals', help: 'refusals', labelNames: ['limit'], registers: [new Registry()] });
const refusedBy = async (counter: Counter<'limit'>, limit: string) => (await counter.get()).values.find((value) => value.labels.limit === limit)?.value ?? 0;

beforeAll(async () => {
  redis = createRedis(TEST_REDIS, { enableAutoPipelining: true });
  await redisReady(redis);
});
afterAll(async () => {
  await wipeRedisKeys(redis, prefix);
  redis.disconnect();
});

describe('operation limits', () => {
  it('count the account and the address on every check, and refuse by the strictest', async () => {
    const counted = refusals();
    const { operations } = createLimits(redis, keys, SETTINGS, counted);
    const userId = nextId++;
    const ip = `10.1.0.${nextId++}`;
    for (let i = 0; i < 3; i++) expect(await operations.check({ userId, ip })).toEqual({ allowed: true });
    expect(await redis.get(`${keys.limits.account}:${userId}`)).toBe('3');
    expect(await redis.get(`${keys.limits.ip}:${ip}`)).toBe('3');
    const refused = await operations.check({ userId, ip });
    expect(refused).toMatchObject({ allowed: false, limit: 'account' });
    expect(refused.allowed === false && refused.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    // The address still counted that one, and the next: over its own limit at the 6th.
    expect(await operations.check({ ip })).toEqual({ allowed: true });
    expect(await operations.check({ ip })).toMatchObject({ allowed: false, limit: 'ip' });
    expect(await refusedBy(counted, 'account')).toBe(1);
    expect(await refusedBy(counted, 'ip')).toBe(1);
  });

  it('refuse a counter over its limit from memory, with no Redis command, until its window ends', async () => {
    const counted = refusals();
    const { operations } = createLimits(redis, keys, SETTINGS, counted);
    const userId = nextId++;
    const ip = `10.1.1.${nextId++}`;
    for (let i = 0; i < 4; i++) await operations.check({ userId, ip });
    await redis.del(`${keys.limits.account}:${userId}`);
    // Redis forgot the count, this process did not: still refused, and nothing counted in Redis.
    expect(await operations.check({ userId, ip })).toMatchObject({ allowed: false, limit: 'account' });
    expect(await redis.get(`${keys.limits.account}:${userId}`)).toBeNull();
    // The address, not blocked, was counted meanwhile.
    expect(await redis.get(`${keys.limits.ip}:${ip}`)).toBe('5');
    expect(await refusedBy(counted, 'account')).toBe(2);
  });

  it('count nothing for a limit of 0', async () => {
    const { operations } = createLimits(redis, keys, { ...SETTINGS, perAccountPerMinute: 0, perIpPerMinute: 0 }, refusals());
    const userId = nextId++;
    const ip = `10.1.2.${nextId++}`;
    for (let i = 0; i < 10; i++) expect(await operations.check({ userId, ip })).toEqual({ allowed: true });
    expect(await redis.get(`${keys.limits.account}:${userId}`)).toBeNull();
    expect(await redis.get(`${keys.limits.ip}:${ip}`)).toBeNull();
  });

  it('let the caller through when Redis does not answer', async () => {
    // Nothing listens on port 1: every command fails at once.
    const away = createRedis({ url: 'redis://127.0.0.1:1' }, { retryStrategy: () => null, lazyConnect: true });
    const { operations } = createLimits(away, keys, { ...SETTINGS, perAccountPerMinute: 1, perIpPerMinute: 1 }, refusals());
    for (let i = 0; i < 3; i++) expect(await operations.check({ userId: 1, ip: '10.1.3.1' })).toEqual({ allowed: true });
    away.disconnect();
  });
});

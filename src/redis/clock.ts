import type { Cluster, Redis } from 'ioredis';
import { luaFunction } from './script';

/**
 * `redisNow()`: ms on Redis's own clock. Every expiry (ACTIVE slots, holds) is written and judged on
 * this one clock, so replicas whose clocks drift apart still agree on who is ACTIVE and which hold
 * has lapsed.
 */
export const REDIS_NOW = luaFunction(
  'redisNow',
  `
local function redisNow()
  local clock = redis.call('TIME')
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end`,
);

/** `redisMicros()`: µs on Redis's own clock, as text (16 digits, exact: a Lua number would print 14). */
export const REDIS_MICROS = luaFunction(
  'redisMicros',
  `
local function redisMicros()
  local clock = redis.call('TIME')
  return clock[1] .. string.format('%06d', tonumber(clock[2]))
end`,
);

/**
 * Node's clock set to Redis's: the app's one clock for what it writes or judges outside the scripts
 * (MySQL rows, tokens, the rule that a show has started, the Date header web clients count holds and
 * turns down by). Replicas whose own clocks drift apart then still agree with one another and with
 * REDIS_NOW: a refund after the show, a token cut off by a password change, a countdown, do not
 * depend on which replica answers. The offset is measured at start and then every minute
 * (syncSharedClock); until then, and while Redis does not answer, the last one holds (0 at first).
 */
let offsetMs = 0;

/** ms on the shared clock (Redis's, as last measured). */
export const sharedNow = (): number => Date.now() + offsetMs;

/** Measures Redis's clock against Node's: TIME's answer against the middle of its round trip. */
export async function syncSharedClock(redis: Redis | Cluster): Promise<void> {
  const sent = Date.now();
  const [seconds, microseconds] = await redis.time();
  const answered = Date.now();
  offsetMs = Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000) - Math.round((sent + answered) / 2);
}

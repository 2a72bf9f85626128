import { defineScript, luaFunction } from './script';

/**
 * Lua for the operation limits (RATE_LIMIT_PER_MINUTE, RATE_LIMIT_IP_PER_MINUTE): fixed-window event
 * counters, one key per account or address with the window as its TTL. The steps are
 * rate-limiter-flexible's RateLimiterRedis script, key for key (its keys are `<prefix>:<id>` too), so
 * a count means the same whichever wrote it; the failed-logIn counters still go through that library.
 * These exist so that one request's two counters cost one script call (see OperationLimits).
 */

/** Counts one event; returns the count in the current window and the window's time left (ms). */
const COUNT_IN_WINDOW = luaFunction(
  'countInWindow',
  `
local function countInWindow(key, windowSeconds)
  redis.call('SET', key, 0, 'EX', windowSeconds, 'NX')
  local consumed = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl == -1 then
    -- A counter left without a TTL would never reset: it gets the window from now.
    redis.call('EXPIRE', key, windowSeconds)
    ttl = 1000 * windowSeconds
  end
  return consumed, ttl
end
`,
);

/** One counter: [count, ms left in its window]. */
export const LIMIT_COUNT = defineScript<[number, number], [windowSeconds: number]>()({
  name: 'limitCount',
  keys: ['counter'],
  uses: [COUNT_IN_WINDOW],
  lua: `
local consumed, ttl = countInWindow(counterKey, tonumber(ARGV[1]))
return {consumed, ttl}
`,
});

/**
 * Two counters of one window at once: [count, ms left] of the first, then of the second. For a single
 * Redis only: an account's and an address's counters share no hash tag (each is its own, or one
 * node would carry every limit of a cluster), so on a Redis Cluster they would be refused as
 * CROSSSLOT; there LIMIT_COUNT runs once per counter instead.
 */
export const LIMIT_COUNT_PAIR = defineScript<[number, number, number, number], [windowSeconds: number]>()({
  name: 'limitCountPair',
  keys: ['first', 'second'],
  uses: [COUNT_IN_WINDOW],
  lua: `
local firstCount, firstTtl = countInWindow(firstKey, tonumber(ARGV[1]))
local secondCount, secondTtl = countInWindow(secondKey, tonumber(ARGV[1]))
return {firstCount, firstTtl, secondCount, secondTtl}
`,
});

export const LIMIT_SCRIPTS = [LIMIT_COUNT, LIMIT_COUNT_PAIR] as const;

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

/**
 * Lua that sets `now` (ms) from Redis's own clock. Every expiry (ACTIVE slots, holds) is written and
 * judged on this one clock, so replicas whose clocks drift apart still agree on who is ACTIVE and
 * which hold has lapsed.
 */
export const REDIS_NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

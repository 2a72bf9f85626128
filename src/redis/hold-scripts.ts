import { REDIS_NOW } from './clock';

/**
 * Lua for seat holds. KEYS are one schedule's keys (one slot): KEYS[1] seat → "holdId|userId|expiresAtMs",
 * KEYS[2] seat → expiresAtMs, KEYS[3] user → live hold count. Time is Redis's own (REDIS_NOW).
 * Every script first purges lapsed holds and returns their seats, so the caller can announce
 * them AVAILABLE: a hold is a single-key lock with a TTL, bound to its owner.
 */
const PURGE = `
${REDIS_NOW}
local purged = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, seat in ipairs(purged) do
  local value = redis.call('HGET', KEYS[1], seat)
  if value then
    local owner = string.match(value, '^[^|]*|([^|]*)|')
    if redis.call('HINCRBY', KEYS[3], owner, -1) <= 0 then redis.call('HDEL', KEYS[3], owner) end
    redis.call('HDEL', KEYS[1], seat)
  end
end
if #purged > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
`;

/**
 * ARGV: seat, user, newHoldId, ttlMs, maxPerUser.
 * Returns {outcome, holdId, expiresAtMs, purged...}: NEW or SAME (the caller already holds it),
 * or {TAKEN | LIMIT, '', '', purged...}.
 */
export const HOLD_SEAT = `
${PURGE}
local seat, user, newHoldId = ARGV[1], ARGV[2], ARGV[3]
local expiresAt = tostring(now + tonumber(ARGV[4]))
local function reply(outcome, holdId, expiresAt)
  local out = {outcome, holdId, expiresAt}
  for _, s in ipairs(purged) do out[#out + 1] = s end
  return out
end
local value = redis.call('HGET', KEYS[1], seat)
if value then
  local holdId, owner, expiresAt = string.match(value, '^([^|]*)|([^|]*)|(%d+)$')
  if owner == user then return reply('SAME', holdId, expiresAt) end
  return reply('TAKEN', '', '')
end
if tonumber(redis.call('HGET', KEYS[3], user) or '0') >= tonumber(ARGV[5]) then return reply('LIMIT', '', '') end
redis.call('HSET', KEYS[1], seat, newHoldId .. '|' .. user .. '|' .. expiresAt)
redis.call('ZADD', KEYS[2], expiresAt, seat)
redis.call('HINCRBY', KEYS[3], user, 1)
return reply('NEW', newHoldId, expiresAt)
`;

/** ARGV: seat, holdId, user. Deletes the hold only if it is that user's live hold. Returns {released 0|1, purged}. */
export const HOLD_RELEASE = `
${PURGE}
local seat, holdId, user = ARGV[1], ARGV[2], ARGV[3]
local value = redis.call('HGET', KEYS[1], seat)
local id, owner
if value then id, owner = string.match(value, '^([^|]*)|([^|]*)|') end
if id == holdId and owner == user then
  redis.call('HDEL', KEYS[1], seat)
  redis.call('ZREM', KEYS[2], seat)
  if redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then redis.call('HDEL', KEYS[3], user) end
  return {1, purged}
end
return {0, purged}
`;

/**
 * ARGV: optionally seats. Returns {purged, [seat, value, seat, value, ...]} of the live holds
 * on those seats, or of every seat when none are named (the seat map).
 */
export const HOLD_STATUS = `
${PURGE}
if #ARGV == 0 then return {purged, redis.call('HGETALL', KEYS[1])} end
local flat = {}
for i = 1, #ARGV do
  local value = redis.call('HGET', KEYS[1], ARGV[i])
  if value then
    flat[#flat + 1] = ARGV[i]
    flat[#flat + 1] = value
  end
end
return {purged, flat}
`;

/**
 * ARGV: user, keepMs, then (seat, holdId) pairs. For a payment: each named hold that is still that
 * user's live hold is kept until at least now + keepMs, so it cannot lapse (and go to a rival) while
 * the payment commits. Returns {purged, seats of the holds confirmed}.
 */
export const HOLD_EXTEND = `
${PURGE}
local user = ARGV[1]
local keepUntil = now + tonumber(ARGV[2])
local confirmed = {}
for i = 3, #ARGV, 2 do
  local seat, holdId = ARGV[i], ARGV[i + 1]
  local value = redis.call('HGET', KEYS[1], seat)
  if value then
    local id, owner, expiresAt = string.match(value, '^([^|]*)|([^|]*)|(%d+)$')
    if id == holdId and owner == user then
      if tonumber(expiresAt) < keepUntil then
        redis.call('HSET', KEYS[1], seat, id .. '|' .. owner .. '|' .. keepUntil)
        redis.call('ZADD', KEYS[2], keepUntil, seat)
      end
      confirmed[#confirmed + 1] = seat
    end
  end
end
return {purged, confirmed}
`;

/** No ARGV. Purges lapsed holds; returns {purged, live holds left}. */
export const HOLD_SWEEP = `
${PURGE}
return {purged, redis.call('HLEN', KEYS[1])}
`;

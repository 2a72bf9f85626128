import { REDIS_NOW } from './clock';

/**
 * Lua for the waiting room. Each script is one atomic step, so no one is ever in both the
 * wait and active sets, or lost between them. KEYS are always one concert's keys (one slot):
 * KEYS[1] wait, KEYS[2] active, then script-specific keys.
 */

/**
 * Status of the users ARGV[firstUser..] now: {waiting, active, ratePerMinute, capacity,
 * then per user: state (0 NONE, 1 WAITING, 2 ACTIVE), position or activeUntil}.
 * Used as the tail of ENTER and LEAVE too, so every answer is the state right after the change.
 */
const STATUS_TAIL = `
local waiting = redis.call('ZCARD', KEYS[1])
local active = redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')
local stats = redis.call('HMGET', KEYS[3], 'rate', 'cap')
local out = {waiting, active, tonumber(stats[1] or '-1'), tonumber(stats[2] or '-1')}
for i = firstUser, #ARGV do
  local user = ARGV[i]
  local rank = redis.call('ZRANK', KEYS[1], user)
  if rank then
    out[#out + 1] = 1
    out[#out + 1] = rank + 1
  else
    local untilMs = tonumber(redis.call('ZSCORE', KEYS[2], user) or '0')
    if untilMs > now then
      out[#out + 1] = 2
      out[#out + 1] = untilMs
    else
      out[#out + 1] = 0
      out[#out + 1] = 0
    end
  end
end
return out
`;

/** KEYS: wait, active, stats. ARGV: user... */
export const QUEUE_STATUS = `
${REDIS_NOW}
local firstUser = 1
${STATUS_TAIL}`;

/**
 * KEYS: wait, active, stats, seq. ARGV: user.
 * Idempotent: a WAITING or ACTIVE user keeps their ticket; only a new (or lapsed) user draws one.
 */
export const QUEUE_ENTER = `
${REDIS_NOW}
local user = ARGV[1]
local untilMs = tonumber(redis.call('ZSCORE', KEYS[2], user) or '0')
if untilMs <= now and not redis.call('ZSCORE', KEYS[1], user) then
  if untilMs > 0 then redis.call('ZREM', KEYS[2], user) end
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[4]), user)
end
local firstUser = 1
${STATUS_TAIL}`;

/** KEYS: wait, active, stats. ARGV: user. Frees the user's place or slot at once. */
export const QUEUE_LEAVE = `
${REDIS_NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local firstUser = 2
${STATUS_TAIL}`;

/**
 * One admission tick for one concert. KEYS: wait, active, stats, admissions.
 * ARGV: capacity, activeTtlMs, maxBatch, rateWindowMs.
 * Drops expired ACTIVE users, then admits the oldest waiters while fewer than capacity are
 * ACTIVE. Costs O(log N + admitted), independent of the queue's length.
 * Returns {admitted, expired, waiting, active}.
 */
export const QUEUE_ADMIT = `
${REDIS_NOW}
local capacity = tonumber(ARGV[1])
local expired = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local active = redis.call('ZCARD', KEYS[2])
local free = math.min(capacity - active, tonumber(ARGV[3]))
local admitted = 0
if free > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], free)
  local untilMs = now + tonumber(ARGV[2])
  local batch = {}
  for i = 1, #popped, 2 do
    batch[#batch + 1] = untilMs
    batch[#batch + 1] = popped[i]
    if #batch >= 1000 then
      redis.call('ZADD', KEYS[2], unpack(batch))
      batch = {}
    end
  end
  if #batch > 0 then redis.call('ZADD', KEYS[2], unpack(batch)) end
  admitted = #popped / 2
  active = active + admitted
end
-- Admission rate over the last window: one "ms:count" entry per tick, oldest trimmed.
redis.call('LPUSH', KEYS[4], now .. ':' .. admitted)
local windowStart = now - tonumber(ARGV[4])
while true do
  local oldest = redis.call('LINDEX', KEYS[4], -1)
  if not oldest or tonumber(string.match(oldest, '^(%d+)')) >= windowStart then break end
  redis.call('RPOP', KEYS[4])
end
local entries = redis.call('LRANGE', KEYS[4], 0, -1)
local total = 0
for _, entry in ipairs(entries) do total = total + tonumber(string.match(entry, ':(%d+)$')) end
local span = now - tonumber(string.match(entries[#entries], '^(%d+)'))
-- Per minute, as an integer; with a single tick recorded the span is unknown, so no rate yet.
local rate = -1
if span > 0 then rate = math.floor(total * 60000 / span) end
redis.call('HSET', KEYS[3], 'rate', rate, 'cap', capacity)
return {admitted, expired, redis.call('ZCARD', KEYS[1]), active}
`;

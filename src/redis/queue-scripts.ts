import { REDIS_NOW } from './clock';
import { defineScript, luaFunction } from './script';

/**
 * Lua for the waiting room. Each script is one atomic step, so no one is ever in both the wait and
 * active sets, or lost between them. The keys are always one concert's (one slot): wait (ZSET
 * user → ticket), active (ZSET user → activeUntil ms), stats (HASH rate, cap), then script-specific ones.
 */

/**
 * The status reply for users[firstUser..] now: {waiting, active, ratePerMinute, capacity, then per
 * user: state (0 NONE, 1 WAITING, 2 ACTIVE), position or activeUntil}. ENTER and LEAVE end with it
 * too, so every answer is the state right after the change.
 */
const STATUS_REPLY = luaFunction(
  'statusReply',
  `
local function statusReply(wait, active, stats, now, users, firstUser)
  local waiting = redis.call('ZCARD', wait)
  local activeCount = redis.call('ZCOUNT', active, '(' .. now, '+inf')
  local figures = redis.call('HMGET', stats, 'rate', 'cap')
  local out = {waiting, activeCount, tonumber(figures[1] or '-1'), tonumber(figures[2] or '-1')}
  for i = firstUser, #users do
    local user = users[i]
    local rank = redis.call('ZRANK', wait, user)
    if rank then
      out[#out + 1] = 1
      out[#out + 1] = rank + 1
    else
      local untilMs = tonumber(redis.call('ZSCORE', active, user) or '0')
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
end`,
);

/** Flat status reply, decoded by decodeStatusReply. */
type StatusReply = number[];

export const QUEUE_STATUS = defineScript<StatusReply, number[]>()({
  name: 'queueStatus',
  keys: ['wait', 'active', 'stats'],
  uses: [REDIS_NOW, STATUS_REPLY],
  lua: `
return statusReply(waitKey, activeKey, statsKey, redisNow(), ARGV, 1)
`,
});

/** Idempotent: a WAITING or ACTIVE user keeps their ticket; only a new (or lapsed) user draws one. */
export const QUEUE_ENTER = defineScript<StatusReply, [user: number]>()({
  name: 'queueEnter',
  keys: ['wait', 'active', 'stats', 'seq'],
  uses: [REDIS_NOW, STATUS_REPLY],
  lua: `
local now = redisNow()
local user = ARGV[1]
local untilMs = tonumber(redis.call('ZSCORE', activeKey, user) or '0')
if untilMs <= now and not redis.call('ZSCORE', waitKey, user) then
  if untilMs > 0 then redis.call('ZREM', activeKey, user) end
  redis.call('ZADD', waitKey, redis.call('INCR', seqKey), user)
end
return statusReply(waitKey, activeKey, statsKey, now, ARGV, 1)
`,
});

/** Frees the user's place or slot at once; the reply's figures are after it, with no user entries. */
export const QUEUE_LEAVE = defineScript<StatusReply, [user: number]>()({
  name: 'queueLeave',
  keys: ['wait', 'active', 'stats'],
  uses: [REDIS_NOW, STATUS_REPLY],
  lua: `
local now = redisNow()
redis.call('ZREM', waitKey, ARGV[1])
redis.call('ZREM', activeKey, ARGV[1])
return statusReply(waitKey, activeKey, statsKey, now, ARGV, 2)
`,
});

/**
 * One admission tick for one concert: drops expired ACTIVE users, then admits the oldest waiters
 * while fewer than capacity are ACTIVE. Costs O(log N + admitted), independent of the queue's length.
 * Returns {admitted, expired, waiting, active}.
 */
export const QUEUE_ADMIT = defineScript<number[], [capacity: number, activeTtlMs: number, maxBatch: number, rateWindowMs: number]>()({
  name: 'queueAdmit',
  keys: ['wait', 'active', 'stats', 'admissions'],
  uses: [REDIS_NOW],
  lua: `
local now = redisNow()
local capacity = tonumber(ARGV[1])
local expired = redis.call('ZREMRANGEBYSCORE', activeKey, '-inf', now)
local active = redis.call('ZCARD', activeKey)
local free = math.min(capacity - active, tonumber(ARGV[3]))
local admitted = 0
if free > 0 then
  local popped = redis.call('ZPOPMIN', waitKey, free)
  local untilMs = now + tonumber(ARGV[2])
  local batch = {}
  for i = 1, #popped, 2 do
    batch[#batch + 1] = untilMs
    batch[#batch + 1] = popped[i]
    if #batch >= 1000 then
      redis.call('ZADD', activeKey, unpack(batch))
      batch = {}
    end
  end
  if #batch > 0 then redis.call('ZADD', activeKey, unpack(batch)) end
  admitted = #popped / 2
  active = active + admitted
end
-- Admission rate over the last window: one "ms:count" entry per tick, oldest trimmed.
redis.call('LPUSH', admissionsKey, now .. ':' .. admitted)
local windowStart = now - tonumber(ARGV[4])
while true do
  local oldest = redis.call('LINDEX', admissionsKey, -1)
  if not oldest or tonumber(string.match(oldest, '^(%d+)')) >= windowStart then break end
  redis.call('RPOP', admissionsKey)
end
local entries = redis.call('LRANGE', admissionsKey, 0, -1)
local total = 0
for _, entry in ipairs(entries) do total = total + tonumber(string.match(entry, ':(%d+)$')) end
local span = now - tonumber(string.match(entries[#entries], '^(%d+)'))
-- Per minute, as an integer; with a single tick recorded the span is unknown, so no rate yet.
local rate = -1
if span > 0 then rate = math.floor(total * 60000 / span) end
redis.call('HSET', statsKey, 'rate', rate, 'cap', capacity)
return {admitted, expired, redis.call('ZCARD', waitKey), active}
`,
});

export const QUEUE_SCRIPTS = [QUEUE_STATUS, QUEUE_ENTER, QUEUE_LEAVE, QUEUE_ADMIT] as const;

import { REDIS_NOW } from './clock';
import { defineScript, luaFunction } from './script';

/**
 * Lua for the waiting room. Each script is one atomic step, so no one is ever in both the wait and
 * active sets, or lost between them. The keys are always one concert's (one slot): wait (ZSET
 * user → ticket), active (ZSET user → activeUntil ms), stats (HASH rate, cap, left, leftUntil,
 * soldOut), sales (opening time or `open`), seen and activeSeen (ZSETs user → last sign of
 * presence), then script-specific ones.
 */

/** Opening time (ms) while sales are closed; -1 once open, or when this Redis does not know (treated as open). */
const SALES_OPENS_AT = luaFunction(
  'salesOpensAt',
  `
local function salesOpensAt(sales)
  local value = redis.call('GET', sales)
  if not value or value == 'open' then return -1 end
  return tonumber(value)
end`,
);

/** ZADD score member pairs in chunks (Lua's unpack has a stack limit). */
const ZADD_PAIRS = luaFunction(
  'zaddPairs',
  `
local function zaddPairs(key, pairs)
  for i = 1, #pairs, 1000 do
    redis.call('ZADD', key, unpack(pairs, i, math.min(i + 999, #pairs)))
  end
end`,
);

/**
 * The status reply for users[firstUser..] now: {waiting, active, ratePerMinute, capacity,
 * salesOpensAt (-1 once open), seatsLeft (-1 unknown: never written, or older than its leftUntil),
 * soldOut (0|1), then per user: state (0 NONE, 1 WAITING, 2 ACTIVE, 3 PREQUEUE, 4 SOLD_OUT),
 * position or activeUntil}. ENTER and LEAVE end with it too, so every answer is the state right
 * after the change. Asking for a fan's status is a sign of presence: every fan it finds in line is
 * marked seen now (this is how HTTP calls and each replica's live subscribers report presence, in
 * the call they already make).
 */
const STATUS_REPLY = luaFunction(
  'statusReply',
  `
local function statusReply(wait, active, stats, sales, seen, activeSeen, now, users, firstUser)
  local waiting = redis.call('ZCARD', wait)
  local activeCount = redis.call('ZCOUNT', active, '(' .. now, '+inf')
  local figures = redis.call('HMGET', stats, 'rate', 'cap', 'left', 'leftUntil', 'soldOut')
  local opensAt = salesOpensAt(sales)
  local seatsLeft = -1
  if figures[3] and tonumber(figures[4] or '0') > now then seatsLeft = tonumber(figures[3]) end
  local soldOut = figures[5] == '1'
  local out = {waiting, activeCount, tonumber(figures[1] or '-1'), tonumber(figures[2] or '-1'), opensAt, seatsLeft, soldOut and 1 or 0}
  local waitingSeen, activeSeenNow = {}, {}
  for i = firstUser, #users do
    local user = users[i]
    local rank = redis.call('ZRANK', wait, user)
    if rank then
      if opensAt >= 0 then
        out[#out + 1] = 3
        out[#out + 1] = 0
      else
        out[#out + 1] = 1
        out[#out + 1] = rank + 1
      end
      waitingSeen[#waitingSeen + 1] = now
      waitingSeen[#waitingSeen + 1] = user
    else
      local untilMs = tonumber(redis.call('ZSCORE', active, user) or '0')
      if untilMs > now then
        out[#out + 1] = 2
        out[#out + 1] = untilMs
        activeSeenNow[#activeSeenNow + 1] = now
        activeSeenNow[#activeSeenNow + 1] = user
      else
        out[#out + 1] = soldOut and 4 or 0
        out[#out + 1] = 0
      end
    end
  end
  zaddPairs(seen, waitingSeen)
  zaddPairs(activeSeen, activeSeenNow)
  return out
end`,
  [SALES_OPENS_AT, ZADD_PAIRS],
);

/**
 * Removes from `set` the members whose last sign of presence in `seen` is older than `before`, at
 * most `limit` of them, and forgets their presence. ZRANGEBYSCORE on `seen` costs O(log N + found),
 * so the cost follows the absent, not the line. Returns how many were in `set`.
 */
const DROP_ABSENT = luaFunction(
  'dropAbsent',
  `
local function dropAbsent(seen, set, before, limit)
  local stale = redis.call('ZRANGEBYSCORE', seen, '-inf', '(' .. before, 'LIMIT', 0, limit)
  local dropped = 0
  for i = 1, #stale, 500 do
    local last = math.min(i + 499, #stale)
    dropped = dropped + redis.call('ZREM', set, unpack(stale, i, last))
    redis.call('ZREM', seen, unpack(stale, i, last))
  end
  return dropped
end`,
);

/**
 * Everyone in line leaves it (the concert sold out): this is the one place that says who "everyone
 * in line" is. The pre-queue lives in `wait` too (negative scores), so WAITING and PREQUEUE fans
 * leave together, and their presence (`seen`) is forgotten with them; ACTIVE fans keep their slots.
 * Returns how many left.
 */
const EMPTY_LINE = luaFunction(
  'emptyLine',
  `
local function emptyLine(wait, seen)
  local count = redis.call('ZCARD', wait)
  redis.call('DEL', wait, seen)
  return count
end`,
);

/** Flat status reply, decoded by decodeStatusReply. */
type StatusReply = number[];

const STATUS_KEYS = ['wait', 'active', 'stats', 'sales', 'seen', 'activeSeen'] as const;

export const QUEUE_STATUS = defineScript<StatusReply, number[]>()({
  name: 'queueStatus',
  keys: STATUS_KEYS,
  uses: [REDIS_NOW, STATUS_REPLY],
  lua: `
return statusReply(waitKey, activeKey, statsKey, salesKey, seenKey, activeSeenKey, redisNow(), ARGV, 1)
`,
});

/** ENTER's reply when this Redis does not know the concert's opening yet: seed `sales`, then enter again. */
export const SALES_UNKNOWN = -1;

/**
 * Idempotent: a WAITING, PREQUEUE or ACTIVE user keeps their place; only a new (or lapsed) user gets
 * one. While sales are closed that place is `preScore` (a negative random number drawn by the caller
 * from a cryptographic source), after opening the next ticket. So the pre-queue sits ahead of every
 * later ticket in a uniformly random order, and opening needs to move nobody. While the concert is
 * sold out nobody new joins the line or the pre-queue (the reply says SOLD_OUT). `capacity` is stored
 * for estimated waits until the first tick does.
 */
export const QUEUE_ENTER = defineScript<StatusReply, [user: number, preScore: number, capacity: number]>()({
  name: 'queueEnter',
  keys: [...STATUS_KEYS, 'seq'],
  uses: [REDIS_NOW, STATUS_REPLY],
  lua: `
local sales = redis.call('GET', salesKey)
if not sales then return {${SALES_UNKNOWN}} end
local now = redisNow()
local user = ARGV[1]
redis.call('HSETNX', statsKey, 'cap', ARGV[3])
local untilMs = tonumber(redis.call('ZSCORE', activeKey, user) or '0')
local soldOut = redis.call('HGET', statsKey, 'soldOut') == '1'
if untilMs <= now and not soldOut and not redis.call('ZSCORE', waitKey, user) then
  if untilMs > 0 then
    redis.call('ZREM', activeKey, user)
    redis.call('ZREM', activeSeenKey, user)
  end
  if sales == 'open' then
    redis.call('ZADD', waitKey, redis.call('INCR', seqKey), user)
  else
    redis.call('ZADD', waitKey, ARGV[2], user)
  end
end
return statusReply(waitKey, activeKey, statsKey, salesKey, seenKey, activeSeenKey, now, {user}, 1)
`,
});

/** Frees the user's place or slot at once; the reply's figures are after it, with no user entries. */
export const QUEUE_LEAVE = defineScript<StatusReply, [user: number]>()({
  name: 'queueLeave',
  keys: STATUS_KEYS,
  uses: [REDIS_NOW, STATUS_REPLY],
  lua: `
local now = redisNow()
redis.call('ZREM', waitKey, ARGV[1])
redis.call('ZREM', activeKey, ARGV[1])
redis.call('ZREM', seenKey, ARGV[1])
redis.call('ZREM', activeSeenKey, ARGV[1])
return statusReply(waitKey, activeKey, statsKey, salesKey, seenKey, activeSeenKey, now, ARGV, 2)
`,
});

/**
 * Sets the opening time while sales are closed: returns 0 (nothing changed) once the opening time
 * has come, judged on Redis's clock like the tick that opens. `known` is MySQL's value (ms or `open`),
 * used when this Redis has none; `opensAt` < 0 means now (the next tick opens).
 */
export const SALES_SET = defineScript<number, [known: string, opensAt: number]>()({
  name: 'salesSet',
  keys: ['sales'],
  uses: [REDIS_NOW],
  lua: `
local now = redisNow()
local current = redis.call('GET', salesKey) or ARGV[1]
if current == 'open' or tonumber(current) <= now then return 0 end
local opensAt = tonumber(ARGV[2])
if opensAt < 0 then opensAt = now end
redis.call('SET', salesKey, string.format('%d', opensAt))
return 1
`,
});

/**
 * One admission tick for one concert, in this order:
 * 1. opens sales if their time has come: the marker flips once, atomically, so however many ticks
 *    overlap only one opens, and the pre-queue (already ahead, in random order) becomes the line;
 * 2. drops expired ACTIVE users, then the absent: WAITING and PREQUEUE fans unseen for graceMs,
 *    ACTIVE fans unseen for idleMs (each O(log N + dropped));
 * 3. sold out (soldOut 1, checked against MySQL by the caller): empties the line, pre-queue
 *    included, with their presence, and keeps it closed until a tick finds seats again;
 *    otherwise the line is open (for sales that are) and seatsLeft is stored for status readers;
 * 4. once sales are open, admits the oldest waiters while fewer than capacity are ACTIVE and seats
 *    are left, each seen now. seatsLeft -1 means unknown: admission goes on (a missing count must
 *    never stop a sale); 0 pauses it.
 * Costs O(log N + changed), independent of the queue's length (emptying the line aside, once per
 * sell-out).
 * Returns {admitted, expired, waiting, active, droppedWaiting, droppedActive, opened (1 if this call
 * opened sales), salesClosed (1 while sales are still closed), leftLine (fans sent away as sold out),
 * soldOutNow (1 if this call closed the line)}.
 */
export const QUEUE_ADMIT = defineScript<
  number[],
  [
    capacity: number,
    activeTtlMs: number,
    maxBatch: number,
    rateWindowMs: number,
    graceMs: number,
    idleMs: number,
    seatsLeft: number,
    soldOut: 0 | 1,
    seatsLeftTtlMs: number,
  ]
>()({
  name: 'queueAdmit',
  keys: ['wait', 'active', 'stats', 'admissions', 'sales', 'seen', 'activeSeen'],
  uses: [REDIS_NOW, DROP_ABSENT, ZADD_PAIRS, EMPTY_LINE],
  lua: `
local now = redisNow()
local capacity = tonumber(ARGV[1])
local maxBatch = tonumber(ARGV[3])
local seatsLeft = tonumber(ARGV[7])
local soldOut = ARGV[8] == '1'
local opened, closed = 0, 0
local sales = redis.call('GET', salesKey)
if sales and sales ~= 'open' then
  if tonumber(sales) <= now then
    redis.call('SET', salesKey, 'open')
    opened = 1
  else
    closed = 1
  end
end
local expired = redis.call('ZREMRANGEBYSCORE', activeKey, '-inf', now)
local droppedWaiting = dropAbsent(seenKey, waitKey, now - tonumber(ARGV[5]), maxBatch)
local droppedActive = dropAbsent(activeSeenKey, activeKey, now - tonumber(ARGV[6]), maxBatch)
local leftLine, soldOutNow = 0, 0
if soldOut then
  if redis.call('HGET', statsKey, 'soldOut') ~= '1' then soldOutNow = 1 end
  redis.call('HSET', statsKey, 'soldOut', 1)
  leftLine = emptyLine(waitKey, seenKey)
else
  redis.call('HDEL', statsKey, 'soldOut')
end
if seatsLeft >= 0 then
  redis.call('HSET', statsKey, 'left', seatsLeft, 'leftUntil', now + tonumber(ARGV[9]))
else
  redis.call('HDEL', statsKey, 'left', 'leftUntil')
end
local active = redis.call('ZCARD', activeKey)
local free = math.min(capacity - active, maxBatch)
if closed == 1 or soldOut or seatsLeft == 0 then free = 0 end
local admitted = 0
if free > 0 then
  local popped = redis.call('ZPOPMIN', waitKey, free)
  local untilMs = now + tonumber(ARGV[2])
  local slots, seenNow, users = {}, {}, {}
  for i = 1, #popped, 2 do
    slots[#slots + 1] = untilMs
    slots[#slots + 1] = popped[i]
    seenNow[#seenNow + 1] = now
    seenNow[#seenNow + 1] = popped[i]
    users[#users + 1] = popped[i]
  end
  zaddPairs(activeKey, slots)
  -- Admission starts the idle clock: the fan gets the full idle time to notice the slot.
  zaddPairs(activeSeenKey, seenNow)
  for i = 1, #users, 1000 do redis.call('ZREM', seenKey, unpack(users, i, math.min(i + 999, #users))) end
  admitted = #users
  active = active + admitted
end
-- Admission rate over the last window: one "ms:count" entry per tick, oldest trimmed. Ticks before
-- opening admit nobody by design: they would only drag the measured pace down. (Ticks paused for
-- want of seats do count: that is the pace fans in line really see.)
local rate = -1
if closed == 0 then
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
  if span > 0 then rate = math.floor(total * 60000 / span) end
end
redis.call('HSET', statsKey, 'rate', rate, 'cap', capacity)
local waiting = redis.call('ZCARD', waitKey)
-- Presence of fans no longer in line (expired, admitted elsewhere) is forgotten with the line itself.
if waiting == 0 then redis.call('DEL', seenKey) end
if active == 0 then redis.call('DEL', activeSeenKey) end
return {admitted, expired, waiting, active, droppedWaiting, droppedActive, opened, closed, leftLine, soldOutNow}
`,
});

/** Writes seats left as computed outside a tick (none was recent), valid for ttlMs. */
export const QUEUE_SEATS_LEFT = defineScript<number, [seatsLeft: number, ttlMs: number]>()({
  name: 'queueSeatsLeft',
  keys: ['stats'],
  uses: [REDIS_NOW],
  lua: `
redis.call('HSET', statsKey, 'left', ARGV[1], 'leftUntil', redisNow() + tonumber(ARGV[2]))
return 0
`,
});

/**
 * Seats came back (a cancellation): the line opens at once, and seatsLeft is read afresh rather than
 * from the last tick. The next tick closes it again if the concert is still sold out.
 */
export const QUEUE_REOPEN = defineScript<number, []>()({
  name: 'queueReopen',
  keys: ['stats'],
  lua: `
redis.call('HDEL', statsKey, 'soldOut', 'left', 'leftUntil')
return 0
`,
});

export const QUEUE_SCRIPTS = [QUEUE_STATUS, QUEUE_ENTER, QUEUE_LEAVE, SALES_SET, QUEUE_ADMIT, QUEUE_SEATS_LEFT, QUEUE_REOPEN] as const;

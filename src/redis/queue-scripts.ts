import { REDIS_MICROS, REDIS_NOW } from './clock';
import { defineScript, luaFunction } from './script';

/**
 * Lua for the waiting room. Each script is one atomic step, so no one is ever in both the wait and
 * active sets, or lost between them. The keys are always one concert's (one slot): wait (ZSET
 * user → ticket), active (ZSET user → activeUntil ms), stats (HASH rate, cap, grace, idle, left,
 * leftUntil, soldOut, logSeq, logEpoch), sales (opening time or `open`), seen and activeSeen (ZSETs user → last
 * sign of presence), watchCount (HASH user → replicas holding a subscription of theirs), then
 * script-specific ones.
 *
 * Every removal from `wait` or `active` is written to the departures log in the same step, so a
 * replica that read a fan's rank at log position n knows the rank at any later position from the
 * log alone (see LiveQueueStatus).
 */

/** The presence score of a fan with an open subscription on some replica: never older than any grace. */
const WATCHED = 2 ** 52;

/** The sales key's value once sales are open (before: the opening time in ms). */
export const SALES_OPEN = 'open';

/** Opening time (ms) while sales are closed; -1 once open, or when this Redis does not know (treated as open). */
const SALES_OPENS_AT = luaFunction(
  'salesOpensAt',
  `
local function salesOpensAt(sales)
  local value = redis.call('GET', sales)
  if not value or value == '${SALES_OPEN}' then return -1 end
  return tonumber(value)
end`,
);

/**
 * Opens sales whose time has come, on Redis's clock: the marker flips once, however many ticks and
 * entries meet it. `sales` is the marker's value as read. Returns 1 if this call opened them, 0 if
 * they were open already, -1 while they are still closed.
 */
const OPEN_IF_DUE = luaFunction(
  'openIfDue',
  `
local function openIfDue(salesKey, sales, now)
  if sales == '${SALES_OPEN}' then return 0 end
  if tonumber(sales) > now then return -1 end
  redis.call('SET', salesKey, '${SALES_OPEN}')
  return 1
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
 * The presence score to write for a fan seen now: WATCHED while a replica holds a subscription of
 * theirs (released with the subscription, or when that replica stops beating), otherwise now. A
 * watched fan's sign is kept in watchedSeen, for when the last hold goes (releaseWatch).
 */
const PRESENCE_SCORE = luaFunction(
  'presenceScore',
  `
local function presenceScore(watchCount, watchedSeen, user, now)
  if redis.call('HEXISTS', watchCount, user) == 1 then
    redis.call('HSET', watchedSeen, user, now)
    return ${WATCHED}
  end
  return now
end`,
);

/** The departures log's epoch: drawn once per log, so a replica notices a log that started over (Redis lost its data). */
const LOG_EPOCH = luaFunction(
  'logEpoch',
  `
local function logEpoch(stats)
  local epoch = redis.call('HGET', stats, 'logEpoch')
  if epoch then return tonumber(epoch) end
  local drawn = redisMicros()
  redis.call('HSET', stats, 'logEpoch', drawn)
  return tonumber(drawn)
end`,
  [REDIS_MICROS],
);

/**
 * How long the departures log outlives its last entry. A line that ended (the show is past, nobody
 * returns) would otherwise keep its last few thousand entries, a fan's ID and score each, for ever;
 * the log starting over empty costs nothing, as the entry numbers go on from stats logSeq.
 */
export const DEPARTURES_TTL_MS = 10 * 60_000;

/**
 * Appends one entry to the departures log (fields: flat name, value list; nothing when empty).
 * Fields: w "user:score,…" left the line (QUEUE_LEAVE), d "user,…" dropped from the line as absent
 * with ds "score,…" their scores in the same order (two lists, see dropAbsent), a "user:score,…"
 * admitted with u the activeUntil, x "user,…" lost an ACTIVE slot, o 1 sales opened, s 1 the line
 * was emptied (sold out). Scores are Redis's own strings, exact. The log keeps the last few thousand
 * entries, until DEPARTURES_TTL_MS after the last.
 *
 * Each entry is stamped (Redis's clock, µs: stats logAt holds the last one's) and names the stamp of
 * the entry before it (field p): a failover to a replica that missed the last writes takes logSeq
 * back with the entries, the epoch unchanged, and hands the same numbers out again; a follower past
 * them would take the new entries for those it applied. By the stamps it knows they are not.
 */
const LOG_DEPARTURES = luaFunction(
  'logDepartures',
  `
local function logDepartures(stats, log, fields)
  if #fields == 0 then return end
  logEpoch(stats)
  local seq = redis.call('HINCRBY', stats, 'logSeq', 1)
  -- A new count (stats lost without the log): the old entries' IDs would refuse the new ones.
  if seq == 1 then redis.call('DEL', log) end
  local before = redis.call('HGET', stats, 'logAt') or ''
  redis.call('HSET', stats, 'logAt', redisMicros())
  redis.call('XADD', log, 'MAXLEN', '~', 4096, seq .. '-0', 'p', before, unpack(fields))
  redis.call('PEXPIRE', log, ${DEPARTURES_TTL_MS})
end`,
  [LOG_EPOCH, REDIS_MICROS],
);

/**
 * Tells live feeds on every replica that this fan's status changed, from inside the script that
 * changed it: on a cluster a PUBLISH sent beside the script could reach a replica before the script
 * ran, and the replica would read the fan's old place. The message is a TickMessage (queue-service.ts).
 * Only for a fan some replica follows (registered in watchCount by QUEUE_WATCH, atomically with the
 * place it read): an on-sale's entries are mostly of fans nobody follows yet, and each message would
 * reach every replica. A replica whose registrations were lost (a tick took it for dead, or Redis
 * lost its data) learns so at its next beat and reads all its fans' places again.
 */
const TELL_FAN = luaFunction(
  'tellFan',
  `
local function tellFan(watchCount, channel, concertId, user)
  if redis.call('HEXISTS', watchCount, user) == 0 then return end
  redis.call('PUBLISH', channel, '{"concerts":[],"fans":[[' .. concertId .. ',' .. user .. ']]}')
end`,
);

/**
 * The concert-wide figures of a status reply: {waiting, active, ratePerMinute, capacity,
 * salesOpensAt (-1 once open), seatsLeft (-1 unknown: never written, or older than its leftUntil),
 * soldOut (0|1), logEpoch, logSeq (the departures log's position these figures are at)}.
 */
const QUEUE_FIGURES = luaFunction(
  'queueFigures',
  `
local function queueFigures(wait, active, stats, sales, now)
  local waiting = redis.call('ZCARD', wait)
  local activeCount = redis.call('ZCOUNT', active, '(' .. now, '+inf')
  local figures = redis.call('HMGET', stats, 'rate', 'cap', 'left', 'leftUntil', 'soldOut', 'logSeq', 'logAt')
  local seatsLeft = -1
  if figures[3] and tonumber(figures[4] or '0') > now then seatsLeft = tonumber(figures[3]) end
  return {waiting, activeCount, tonumber(figures[1] or '-1'), tonumber(figures[2] or '-1'), salesOpensAt(sales), seatsLeft,
    figures[5] == '1' and 1 or 0, logEpoch(stats), tonumber(figures[6] or '0'), figures[7] or ''}
end`,
  [SALES_OPENS_AT, LOG_EPOCH],
);

/**
 * The presence limits the last tick stored, for forgetIfAbsent: grace and idle (ms), when it ran
 * (tickAt), when the line was last attended again after a gap (resumedAt), and how long a gap between
 * ticks means nobody attended it (unattended), all on Redis's clock.
 */
const PRESENCE_LIMITS = luaFunction(
  'presenceLimits',
  `
local function presenceLimits(stats)
  return redis.call('HMGET', stats, 'grace', 'idle', 'tickAt', 'resumedAt', 'unattended')
end`,
);

/**
 * A fan whose last sign of presence is older than the line's grace (or, ACTIVE, its idle time) is
 * gone at the moment anyone asks, not only at the next tick's sweep: their own status or entry must
 * not find the place still theirs and renew it. The limits are the tick's (stats grace and idle, in
 * ms, written by each tick, read once per call by presenceLimits); before a tick has written them,
 * only the tick drops anyone. Nor does anyone lose a place for a silence that may be ours: while no
 * tick has run for longer than the line's unattended gap (Redis or every worker away, when no sign
 * could be recorded), nor for one grace (idle time) after the tick that found the gap (see QUEUE_ADMIT). A fan
 * with no sign on record counts as present. Logged like the tick's drops. Returns 0 (kept), 1 (left
 * the line) or 2 (lost the ACTIVE slot).
 */
const FORGET_IF_ABSENT = luaFunction(
  'forgetIfAbsent',
  `
local function forgetIfAbsent(wait, active, seen, activeSeen, stats, departures, user, now, limits)
  if not limits[1] or not limits[2] then return 0 end
  if limits[3] and limits[5] and now - tonumber(limits[3]) > tonumber(limits[5]) then return 0 end
  local attendedFor = now - tonumber(limits[4] or '0')
  local lastSeen = redis.call('ZSCORE', seen, user)
  if lastSeen and attendedFor >= tonumber(limits[1]) and tonumber(lastSeen) < now - tonumber(limits[1]) then
    -- Also the lapsed entry of a fan admitted since (see QUEUE_ADMIT): of no use any more.
    redis.call('ZREM', seen, user)
    local score = redis.call('ZSCORE', wait, user)
    if score then
      redis.call('ZREM', wait, user)
      logDepartures(stats, departures, {'d', user, 'ds', score})
      return 1
    end
  end
  lastSeen = redis.call('ZSCORE', activeSeen, user)
  if lastSeen and attendedFor >= tonumber(limits[2]) and tonumber(lastSeen) < now - tonumber(limits[2]) and tonumber(redis.call('ZSCORE', active, user) or '0') > now then
    redis.call('ZREM', activeSeen, user)
    redis.call('ZREM', active, user)
    logDepartures(stats, departures, {'x', user})
    return 2
  end
  return 0
end`,
  [LOG_DEPARTURES],
);

/**
 * The status reply for users[firstUser..] now: the figures (queueFigures), then per user: state
 * (0 NONE, 1 WAITING, 2 ACTIVE, 3 PREQUEUE, 4 SOLD_OUT, 5 NONE having just left the line as absent,
 * 6 NONE having just lost the ACTIVE slot as idle), position or activeUntil, and with withScores the
 * fan's score in the line ('' when not in it). Absent fans are dropped first (forgetIfAbsent), so the
 * figures and their log position come after every change this call makes. ENTER and LEAVE end with it too, so
 * every answer is the state right after the change. Asking for a fan's status is a sign of presence:
 * every fan it finds in line is marked seen now (this is how HTTP calls report presence, in the call
 * they already make).
 */
const STATUS_REPLY = luaFunction(
  'statusReply',
  `
local function statusReply(wait, active, stats, sales, seen, activeSeen, watchCount, watchedSeen, departures, now, users, firstUser, withScores)
  local limits = presenceLimits(stats)
  local lapsed = {}
  for i = firstUser, #users do lapsed[i] = forgetIfAbsent(wait, active, seen, activeSeen, stats, departures, users[i], now, limits) end
  local out = queueFigures(wait, active, stats, sales, now)
  local opensAt, soldOut = out[5], out[7] == 1
  local waitingSeen, activeSeenNow = {}, {}
  for i = firstUser, #users do
    local user = users[i]
    local rank = redis.call('ZRANK', wait, user)
    local score = ''
    if rank then
      if opensAt >= 0 then
        out[#out + 1] = 3
        out[#out + 1] = 0
      else
        out[#out + 1] = 1
        out[#out + 1] = rank + 1
      end
      if withScores then score = redis.call('ZSCORE', wait, user) end
      waitingSeen[#waitingSeen + 1] = presenceScore(watchCount, watchedSeen, user, now)
      waitingSeen[#waitingSeen + 1] = user
    else
      local untilMs = tonumber(redis.call('ZSCORE', active, user) or '0')
      if untilMs > now then
        out[#out + 1] = 2
        out[#out + 1] = untilMs
        activeSeenNow[#activeSeenNow + 1] = presenceScore(watchCount, watchedSeen, user, now)
        activeSeenNow[#activeSeenNow + 1] = user
      else
        out[#out + 1] = lapsed[i] > 0 and lapsed[i] + 4 or (soldOut and 4 or 0)
        out[#out + 1] = 0
      end
    end
    if withScores then out[#out + 1] = score end
  end
  zaddPairs(seen, waitingSeen)
  zaddPairs(activeSeen, activeSeenNow)
  return out
end`,
  [QUEUE_FIGURES, ZADD_PAIRS, PRESENCE_SCORE, FORGET_IF_ABSENT, PRESENCE_LIMITS],
);

/**
 * Removes from `set` the members whose last sign of presence in `seen` is older than `before`, at
 * most `limit` of them, and forgets their presence. ZRANGEBYSCORE on `seen` costs O(log N + found),
 * so the cost follows the absent, not the line. Returns how many were in `set`, and for the
 * departures log them and their scores in `set`, each list joined with ',' (same order), then
 * whether the limit cut the sweep short (more may be absent).
 *
 * Every string and table a tick makes is garbage the Lua GC then walks, on the tick's clock, so the
 * lists are built in the tables Redis replied with, from the strings it replied with: no
 * "user:score" string or extra table per fan.
 */
const DROP_ABSENT = luaFunction(
  'dropAbsent',
  `
local function dropAbsent(seen, set, before, limit)
  local stale = redis.call('ZRANGEBYSCORE', seen, '-inf', '(' .. before, 'LIMIT', 0, limit)
  local total = #stale
  local count, scoreLists = 0, {}
  for i = 1, total, 500 do
    local last = math.min(i + 499, total)
    local scores = redis.call('ZMSCORE', set, unpack(stale, i, last))
    redis.call('ZREM', set, unpack(stale, i, last))
    -- Those found (no score: not in set, e.g. an admitted fan's entry left to lapse, see QUEUE_ADMIT)
    -- move to the front: of stale (slots already read) and of this batch's scores.
    local kept = 0
    for j = 1, last - i + 1 do
      if scores[j] then
        kept = kept + 1
        scores[kept] = scores[j]
        stale[count + kept] = stale[i + j - 1]
      end
    end
    if kept > 0 then scoreLists[#scoreLists + 1] = table.concat(scores, ',', 1, kept) end
    count = count + kept
  end
  -- The stale are the lowest ranks of seen: one range removal, not a lookup each.
  if total > 0 then redis.call('ZREMRANGEBYRANK', seen, 0, total - 1) end
  return count, table.concat(stale, ',', 1, count), table.concat(scoreLists, ','), total >= limit
end`,
);

/**
 * Ends one replica's hold on a fan's presence, which lasted until `lastSeen` (now, or a dead
 * replica's last beat). While other replicas hold the fan, that end is kept as a sign in watchedSeen
 * (the fan may have closed this socket long after an older one died). When none holds them any
 * more, their presence (if still WATCHED) becomes the latest sign, from which the grace counts.
 */
const RELEASE_WATCH = luaFunction(
  'releaseWatch',
  `
local function releaseWatch(watchers, watchSums, watchCount, watchedSeen, seen, activeSeen, replica, user, lastSeen)
  if redis.call('ZREM', watchers, replica .. ':' .. user) == 0 then return end
  -- The id as text: a Lua number would be written with 14 significant digits.
  redis.call('HINCRBY', watchSums, replica, '-' .. user)
  local sign = tonumber(redis.call('HGET', watchedSeen, user) or '0')
  if sign > lastSeen then lastSeen = sign end
  if redis.call('HINCRBY', watchCount, user, -1) > 0 then
    redis.call('HSET', watchedSeen, user, lastSeen)
    return
  end
  redis.call('HDEL', watchCount, user)
  redis.call('HDEL', watchedSeen, user)
  if tonumber(redis.call('ZSCORE', seen, user) or '0') == ${WATCHED} then redis.call('ZADD', seen, lastSeen, user) end
  if tonumber(redis.call('ZSCORE', activeSeen, user) or '0') == ${WATCHED} then redis.call('ZADD', activeSeen, lastSeen, user) end
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

const STATUS_KEYS = ['wait', 'active', 'stats', 'sales', 'seen', 'activeSeen', 'watchCount', 'watchedSeen', 'departures'] as const;

export const QUEUE_STATUS = defineScript<StatusReply, number[]>()({
  name: 'queueStatus',
  keys: STATUS_KEYS,
  uses: [REDIS_NOW, STATUS_REPLY],
  lua: `
return statusReply(waitKey, activeKey, statsKey, salesKey, seenKey, activeSeenKey, watchCountKey, watchedSeenKey, departuresKey, redisNow(), ARGV, 1, false)
`,
});

/** ENTER's reply when this Redis does not know the concert's opening yet: seed `sales`, then enter again. */
export const SALES_UNKNOWN = -1;

/**
 * Idempotent: a WAITING, PREQUEUE or ACTIVE user keeps their place; only a new (or lapsed) user gets
 * one. While sales are closed that place is `preScore` (a negative random number drawn by the caller
 * from a cryptographic source; the next free score above it if another fan drew it), after opening
 * the next ticket. So the pre-queue sits ahead of every later ticket in a uniformly random order,
 * and opening needs to move nobody. An opening time that
 * has come opens sales here as a tick would (once, logged), rather than pre-queue an entrant who came
 * after it: no tick may visit a concert nobody has entered yet. While the concert is sold out nobody
 * new joins the line or the pre-queue (the reply says SOLD_OUT). `capacity` is stored for estimated
 * waits until the first tick does. Nobody leaves the line here: a lapsed slot the entrant gives up
 * was already over; a fan whose place or slot lapsed for want of presence loses it first
 * (forgetIfAbsent) and enters at the back like anyone new. The reply is the status reply, then 1 if
 * this call opened sales (else 0), then forgetIfAbsent's verdict on the entrant (0, 1 or 2), then 1
 * if anyone else was in line or ACTIVE as the entrant came (else 0).
 */
export const QUEUE_ENTER = defineScript<StatusReply, [user: number, preScore: number, capacity: number, channel: string, concertId: number]>()({
  name: 'queueEnter',
  keys: [...STATUS_KEYS, 'seq'],
  uses: [REDIS_NOW, STATUS_REPLY, TELL_FAN, LOG_DEPARTURES, OPEN_IF_DUE, FORGET_IF_ABSENT, PRESENCE_LIMITS],
  lua: `
local sales = redis.call('GET', salesKey)
if not sales then return {${SALES_UNKNOWN}} end
local now = redisNow()
local opened = 0
if openIfDue(salesKey, sales, now) == 1 then
  sales = '${SALES_OPEN}'
  logDepartures(statsKey, departuresKey, {'o', 1})
  opened = 1
end
local user = ARGV[1]
redis.call('HSETNX', statsKey, 'cap', ARGV[3])
local lapsed = forgetIfAbsent(waitKey, activeKey, seenKey, activeSeenKey, statsKey, departuresKey, user, now, presenceLimits(statsKey))
local untilMs = tonumber(redis.call('ZSCORE', activeKey, user) or '0')
local inWait = redis.call('ZSCORE', waitKey, user)
-- Others in line or ACTIVE: the concert is in the tick's index already (see QueueService.enter).
local others = redis.call('ZCARD', waitKey) + redis.call('ZCARD', activeKey) - (inWait and 1 or 0) - (untilMs > 0 and 1 or 0)
local soldOut = redis.call('HGET', statsKey, 'soldOut') == '1'
if untilMs <= now and not soldOut and not inWait then
  if untilMs > 0 then
    redis.call('ZREM', activeKey, user)
    redis.call('ZREM', activeSeenKey, user)
  end
  if sales == '${SALES_OPEN}' then
    redis.call('ZADD', waitKey, redis.call('INCR', seqKey), user)
  else
    -- Each drawn place is the entrant's own: a tie (about n²/2^54 likely) would order two fans by
    -- name, which live positions, moved by the scores of those who leave, cannot follow.
    local score = tonumber(ARGV[2])
    while redis.call('ZCOUNT', waitKey, score, score) > 0 do score = score + 1 end
    redis.call('ZADD', waitKey, score, user)
  end
end
tellFan(watchCountKey, ARGV[4], ARGV[5], user)
local reply = statusReply(waitKey, activeKey, statsKey, salesKey, seenKey, activeSeenKey, watchCountKey, watchedSeenKey, departuresKey, now, {user}, 1, false)
reply[#reply + 1] = opened
reply[#reply + 1] = lapsed
reply[#reply + 1] = others > 0 and 1 or 0
return reply
`,
});

/** Frees the user's place or slot at once (logged); the reply's figures are after it, with no user entries. */
export const QUEUE_LEAVE = defineScript<StatusReply, [user: number, channel: string, concertId: number]>()({
  name: 'queueLeave',
  keys: STATUS_KEYS,
  uses: [REDIS_NOW, STATUS_REPLY, LOG_DEPARTURES, TELL_FAN],
  lua: `
local now = redisNow()
local user = ARGV[1]
local fields = {}
local score = redis.call('ZSCORE', waitKey, user)
if score then
  redis.call('ZREM', waitKey, user)
  fields = {'w', user .. ':' .. score}
elseif redis.call('ZREM', activeKey, user) == 1 then
  fields = {'x', user}
end
redis.call('ZREM', seenKey, user)
redis.call('ZREM', activeSeenKey, user)
logDepartures(statsKey, departuresKey, fields)
tellFan(watchCountKey, ARGV[2], ARGV[3], user)
return statusReply(waitKey, activeKey, statsKey, salesKey, seenKey, activeSeenKey, watchCountKey, watchedSeenKey, departuresKey, now, {}, 1, false)
`,
});

/** Ends the user's ACTIVE slot (after a payment), logged; a user who is WAITING keeps their place. */
export const QUEUE_END_ACTIVE = defineScript<number, [user: number, channel: string, concertId: number, endingBy: number]>()({
  name: 'queueEndActive',
  keys: ['active', 'activeSeen', 'stats', 'departures', 'watchCount'],
  uses: [LOG_DEPARTURES, TELL_FAN],
  lua: `
-- Only a slot ending by ARGV[4] (its score): one given later, a new turn, is not the one to end.
local endsAt = redis.call('ZSCORE', activeKey, ARGV[1])
if endsAt and tonumber(endsAt) > tonumber(ARGV[4]) then return 0 end
redis.call('ZREM', activeSeenKey, ARGV[1])
if not endsAt then return 0 end
redis.call('ZREM', activeKey, ARGV[1])
logDepartures(statsKey, departuresKey, {'x', ARGV[1]})
tellFan(watchCountKey, ARGV[2], ARGV[3], ARGV[1])
return 1
`,
});

/** Reply of QUEUE_WATCH: the figures, then (state, value, score) per user. */
type PlacesReply = (number | string)[];

/**
 * The places of fans a replica follows live, with their scores (from which the replica derives
 * later positions), at the log position in the figures. With register 1, the replica also holds
 * their presence from now until it releases them (QUEUE_UNWATCH) or stops beating: their presence
 * is WATCHED, which never lapses. The reply ends with 1 when the replica was unknown here or its
 * last beat older than deadAfterMs (a tick may have released its other fans): registering now must
 * not hide that from the replica, which holds all its fans again (as after QUEUE_HEARTBEAT's 1).
 */
export const QUEUE_WATCH = defineScript<PlacesReply, [register: 0 | 1, replica: string, deadAfterMs: number, ...users: number[]]>()({
  name: 'queueWatch',
  keys: [...STATUS_KEYS, 'watchers', 'watchSums', 'replicas'],
  uses: [REDIS_NOW, STATUS_REPLY],
  lua: `
local now = redisNow()
local forgotten = 0
if ARGV[1] == '1' then
  local replica = ARGV[2]
  local last = redis.call('ZSCORE', replicasKey, replica)
  if not last or now - tonumber(last) > tonumber(ARGV[3]) then forgotten = 1 end
  redis.call('ZADD', replicasKey, now, replica)
  for i = 4, #ARGV do
    if redis.call('ZADD', watchersKey, 0, replica .. ':' .. ARGV[i]) == 1 then
      redis.call('HINCRBY', watchCountKey, ARGV[i], 1)
      redis.call('HINCRBY', watchSumsKey, replica, ARGV[i])
    end
  end
end
local reply = statusReply(waitKey, activeKey, statsKey, salesKey, seenKey, activeSeenKey, watchCountKey, watchedSeenKey, departuresKey, now, ARGV, 4, true)
reply[#reply + 1] = forgotten
return reply
`,
});

/** The replica no longer follows these fans: their presence counts from now (unless another replica holds them). */
export const QUEUE_UNWATCH = defineScript<number, [replica: string, ...users: number[]]>()({
  name: 'queueUnwatch',
  keys: ['seen', 'activeSeen', 'watchers', 'watchSums', 'watchCount', 'watchedSeen'],
  uses: [REDIS_NOW, RELEASE_WATCH],
  lua: `
local now = redisNow()
for i = 2, #ARGV do releaseWatch(watchersKey, watchSumsKey, watchCountKey, watchedSeenKey, seenKey, activeSeenKey, ARGV[1], ARGV[i], now) end
return 0
`,
});

/** QUEUE_HEARTBEAT's answers. */
export const BEAT_KNOWN = 0;
/** Not registered, or its last beat too old: the replica registers its fans again (same id). */
export const BEAT_FORGOTTEN = 1;
/**
 * Its holds here are not the fans it follows (by count and sum of ids): some were lost, or some it
 * released came back (Redis restored from an older snapshot, failed over to a replica behind). Holds
 * cannot be told apart from here, so the replica follows its fans under a new id, and this one,
 * beating no more, is released as a dead replica's: the fans it held for nobody lapse a grace later.
 */
export const BEAT_MISMATCHED = 2;

/**
 * A replica that follows fans of this concert is alive: BEAT_KNOWN, BEAT_FORGOTTEN or
 * BEAT_MISMATCHED (see each). O(log N).
 */
export const QUEUE_HEARTBEAT = defineScript<number, [replica: string, deadAfterMs: number, following: number, followingSum: number]>()({
  name: 'queueHeartbeat',
  keys: ['replicas', 'watchers', 'watchSums'],
  uses: [REDIS_NOW],
  lua: `
local now = redisNow()
local replica = ARGV[1]
local last = redis.call('ZSCORE', replicasKey, replica)
redis.call('ZADD', replicasKey, now, replica)
if not last or now - tonumber(last) > tonumber(ARGV[2]) then return ${BEAT_FORGOTTEN} end
local held = redis.call('ZLEXCOUNT', watchersKey, '[' .. replica .. ':', '[' .. replica .. ':\\255')
local heldSum = tonumber(redis.call('HGET', watchSumsKey, replica) or '0')
if held ~= tonumber(ARGV[3]) or heldSum ~= tonumber(ARGV[4]) then return ${BEAT_MISMATCHED} end
return ${BEAT_KNOWN}
`,
});

/** The concert-wide figures alone (queueFigures), as status replies carry them: for the metrics. */
export const QUEUE_FIGURES_NOW = defineScript<number[], []>()({
  name: 'queueFiguresNow',
  keys: ['wait', 'active', 'stats', 'sales'],
  uses: [REDIS_NOW, QUEUE_FIGURES],
  lua: `
return queueFigures(waitKey, activeKey, statsKey, salesKey, redisNow())
`,
});

/** Entries read per QUEUE_FEED call; a replica further behind than this resyncs instead. */
export const FEED_MAX_ENTRIES = 2048;

/**
 * What a replica's live feed reads per tick: the figures, then the departures log entries after
 * `since` (XRANGE reply), or the figures alone with a last element of -1 when more than
 * FEED_MAX_ENTRIES are pending (the replica resyncs). O(1 + entries): no work per follower.
 */
export const QUEUE_FEED = defineScript<(number | [string, string[]][])[], [since: number]>()({
  name: 'queueFeed',
  keys: ['wait', 'active', 'stats', 'sales', 'departures'],
  uses: [REDIS_NOW, QUEUE_FIGURES],
  lua: `
local out = queueFigures(waitKey, activeKey, statsKey, salesKey, redisNow())
local since = tonumber(ARGV[1])
if out[9] - since > ${FEED_MAX_ENTRIES} then
  out[#out + 1] = -1
else
  out[#out + 1] = redis.call('XRANGE', departuresKey, '(' .. since .. '-0', '+')
end
return out
`,
});

/** Writes an opening time in ms; below 0 means `now` (the next tick opens). */
const WRITE_OPENING = luaFunction(
  'writeOpening',
  `
local function writeOpening(sales, opensAt, now)
  if opensAt < 0 then opensAt = now end
  redis.call('SET', sales, string.format('%d', opensAt))
end`,
);

/**
 * Sets the opening time while sales are closed: returns 0 (nothing changed) once the opening time
 * has come, judged on Redis's clock like the tick that opens. `known` is MySQL's value (ms or `open`),
 * used when this Redis has none; `opensAt` < 0 means now (the next tick opens).
 */
export const SALES_SET = defineScript<number, [known: string, opensAt: number]>()({
  name: 'salesSet',
  keys: ['sales'],
  uses: [REDIS_NOW, WRITE_OPENING],
  lua: `
local now = redisNow()
local current = redis.call('GET', salesKey) or ARGV[1]
if current == '${SALES_OPEN}' or tonumber(current) <= now then return 0 end
writeOpening(salesKey, tonumber(ARGV[2]), now)
return 1
`,
});

/**
 * Puts MySQL's opening time back (after a setSalesOpenAt whose transaction did not commit), unless a
 * tick has opened sales meanwhile: that cannot be undone. `opensAt` < 0 means now. Returns 1 if set.
 */
export const SALES_RESTORE = defineScript<number, [opensAt: number]>()({
  name: 'salesRestore',
  keys: ['sales'],
  uses: [REDIS_NOW, WRITE_OPENING],
  lua: `
if redis.call('GET', salesKey) == '${SALES_OPEN}' then return 0 end
writeOpening(salesKey, tonumber(ARGV[1]), redisNow())
return 1
`,
});

/**
 * Closes the line as sold out: the mark, and the close's own stamp (Redis's clock to the microsecond),
 * by which a tick whose verdict was formed before this close knows of it (QUEUE_ADMIT).
 */
const MARK_SOLD_OUT = luaFunction(
  'markSoldOut',
  `
local function markSoldOut(stats)
  local clock = redis.call('TIME')
  redis.call('HSET', stats, 'soldOut', 1, 'closedAt', clock[1] .. '.' .. clock[2])
end`,
);

/** Dead replicas, and their fans, released per tick at most, so one script never blocks Redis for long. */
const MAX_DEAD_PER_TICK = 10;
const MAX_RELEASED_PER_TICK = 5000;

/**
 * One admission tick for one concert, in this order:
 * 1. opens sales if their time has come: the marker flips once, atomically, so however many ticks
 *    overlap only one opens, and the pre-queue (already ahead, in random order) becomes the line;
 * 2. releases the presence held by replicas that stopped beating (deadBeforeMs): their fans' grace
 *    counts from the last beat;
 * 3. drops expired ACTIVE users, then the absent: WAITING and PREQUEUE fans unseen for graceMs,
 *    ACTIVE fans unseen for idleMs (each O(log N + dropped)). Not for a silence that may be ours:
 *    when the previous tick is older than unattendedAfterMs (Redis or every worker was away, and no
 *    sign of presence, nor a replica's beat, could be recorded), every grace starts again from this
 *    tick: no replica is taken for dead for deadAfterMs, nobody dropped as absent for graceMs
 *    (ACTIVE: idleMs). A fan who really left meanwhile goes a grace later;
 * 4. sold out (soldOut 1, checked against MySQL by the caller, unless a cancellation reopened the
 *    line since the caller read reopensSeen): empties the line, pre-queue included, with their
 *    presence, and keeps it closed until a tick finds seats again; a line closed since the caller read
 *    closingSeen (a payment's QUEUE_CLOSE_SOLD_OUT or another tick) stays closed for this tick
 *    whatever its verdict;
 *    otherwise the line is open (for sales that are) and seatsLeft is stored for status readers;
 * 5. once sales are open, admits the oldest waiters while fewer than capacity are ACTIVE (as the
 *    contract has it: any seat left lets a capacity's worth in, who race for it). seatsLeft -1 means
 *    unknown: admission goes on (a missing count must never stop a sale); 0 pauses it. So does a
 *    step 2 or 3 cut short by its bound (more dead replicas, or more of their fans, than one tick
 *    releases; more absent waiters than one batch): the fans left over, released and dropped by
 *    name or by silence, not by place, may stand at the front, and an absent fan admitted would
 *    hold a slot for idleMs while present fans wait. The next ticks go on where this one stopped;
 * 6. logs every departure of this tick as one entry.
 * Costs O(log N + changed), independent of the queue's length (emptying the line aside, once per
 * sell-out) and of how many watch it.
 * A capacity of -1 means unknown to the caller: the one stored by the last tick or entry is used.
 * Returns {admitted, expired, waiting, active, droppedWaiting, droppedActive, opened (1 if this call
 * opened sales), salesClosed (1 while sales are still closed), leftLine (fans sent away as sold out),
 * soldOutNow (1 if this call closed the line), watched (fans some replica follows live: while any
 * is, the concert stays in the tick's index, so their seatsLeft moves within a tick even with
 * nobody in line)}.
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
    deadAfterMs: number,
    reopensSeen: string,
    unattendedAfterMs: number,
    closingSeen: string,
  ]
>()({
  name: 'queueAdmit',
  keys: ['wait', 'active', 'stats', 'admissions', 'sales', 'seen', 'activeSeen', 'watchCount', 'watchedSeen', 'watchers', 'watchSums', 'replicas', 'departures'],
  uses: [REDIS_NOW, DROP_ABSENT, ZADD_PAIRS, EMPTY_LINE, PRESENCE_SCORE, RELEASE_WATCH, LOG_DEPARTURES, OPEN_IF_DUE, MARK_SOLD_OUT],
  lua: `
local now = redisNow()
local capacity = tonumber(ARGV[1])
-- Unknown to the caller (MySQL away, and this process never read it): the one this line last stored.
-- Admitting by 0 would stall the line and overwrite the stored capacity the wait estimate uses.
local capacityKnown = capacity >= 0
if not capacityKnown then capacity = tonumber(redis.call('HGET', statsKey, 'cap') or '0') end
local maxBatch = tonumber(ARGV[3])
local seatsLeft = tonumber(ARGV[7])
local soldOut = ARGV[8] == '1'
-- A verdict formed before a cancellation reopened the line (stats reopens moved since the caller read
-- it) is stale, and so is the count read with it (0, the seat not yet counted back, whether or not
-- MySQL, asked after the commit, still called it sold out): the line stays open, the count unknown (as
-- the reopening left it, for readers to count afresh), and the next tick judges again.
if (redis.call('HGET', statsKey, 'reopens') or '') ~= ARGV[11] then
  soldOut = false
  seatsLeft = -1
end
-- Likewise a verdict of seats left formed before the line was closed (by the payment of the last
-- seat, QUEUE_CLOSE_SOLD_OUT, or another tick; the soldOut mark and the close's own stamp are no
-- longer as the caller read them, ARGV[13], "soldOut|closedAt"): the line stays closed, with the
-- count that close wrote, and the next tick judges again. The mark alone would miss a reopening and
-- a new close in between; a stamp (Redis's clock to the microsecond) cannot come back after the
-- stats are lost, as a count could.
local closing = redis.call('HMGET', statsKey, 'soldOut', 'closedAt')
local closedSince = not soldOut and closing[1] == '1' and ((closing[1] or '') .. '|' .. (closing[2] or '')) ~= ARGV[13]
local log = {}
local opened, closed = 0, 0
local sales = redis.call('GET', salesKey)
local opening = sales and openIfDue(salesKey, sales, now) or 0
if opening == 1 then
  opened = 1
  log[#log + 1] = 'o'
  log[#log + 1] = 1
elseif opening == -1 then
  closed = 1
end
-- How long the line has been attended since a gap between ticks (or ever, the first tick aside).
local ticks = redis.call('HMGET', statsKey, 'tickAt', 'resumedAt')
local resumedAt = tonumber(ticks[2] or '0')
if ticks[1] and now - tonumber(ticks[1]) > tonumber(ARGV[12]) then
  resumedAt = now
  redis.call('HSET', statsKey, 'resumedAt', now)
end
local attendedFor = now - resumedAt
local dead = {}
if attendedFor >= tonumber(ARGV[10]) then
  dead = redis.call('ZRANGEBYSCORE', replicasKey, '-inf', '(' .. (now - tonumber(ARGV[10])), 'WITHSCORES', 'LIMIT', 0, ${MAX_DEAD_PER_TICK})
end
local releasable = ${MAX_RELEASED_PER_TICK}
-- Presence is settled once every dead replica's fans are released and every absent fan dropped.
local unsettled = #dead == 2 * ${MAX_DEAD_PER_TICK}
for i = 1, #dead, 2 do
  local replica = dead[i]
  local held = redis.call('ZRANGEBYLEX', watchersKey, '[' .. replica .. ':', '[' .. replica .. ':\\255', 'LIMIT', 0, releasable)
  for _, member in ipairs(held) do
    releaseWatch(watchersKey, watchSumsKey, watchCountKey, watchedSeenKey, seenKey, activeSeenKey, replica, string.sub(member, #replica + 2), tonumber(dead[i + 1]))
  end
  releasable = releasable - #held
  if releasable <= 0 then
    unsettled = true
    break
  end
  redis.call('ZREM', replicasKey, replica)
  redis.call('HDEL', watchSumsKey, replica)
end
local lapsed = redis.call('ZRANGEBYSCORE', activeKey, '-inf', now)
local expired = #lapsed
for i = 1, expired, 500 do
  local last = math.min(i + 499, expired)
  redis.call('ZREM', activeKey, unpack(lapsed, i, last))
  redis.call('ZREM', activeSeenKey, unpack(lapsed, i, last))
end
-- Signs older than these are absence (none while the line has been attended for less than a grace).
local unseenWaiting = attendedFor >= tonumber(ARGV[5]) and now - tonumber(ARGV[5]) or 0
local unseenActive = attendedFor >= tonumber(ARGV[6]) and now - tonumber(ARGV[6]) or 0
local droppedWaiting, goneWaiting, goneWaitingScores, moreAbsent = dropAbsent(seenKey, waitKey, unseenWaiting, maxBatch)
if moreAbsent then unsettled = true end
local droppedActive, goneActive = dropAbsent(activeSeenKey, activeKey, unseenActive, maxBatch)
if droppedWaiting > 0 then
  log[#log + 1] = 'd'
  log[#log + 1] = goneWaiting
  log[#log + 1] = 'ds'
  log[#log + 1] = goneWaitingScores
end
-- Already joined: one more item of the list joined below.
if droppedActive > 0 then lapsed[#lapsed + 1] = goneActive end
if #lapsed > 0 then
  log[#log + 1] = 'x'
  log[#log + 1] = table.concat(lapsed, ',')
end
local leftLine, soldOutNow = 0, 0
if soldOut then
  if closing[1] ~= '1' then
    soldOutNow = 1
    markSoldOut(statsKey)
  end
  leftLine = emptyLine(waitKey, seenKey)
  if leftLine > 0 then
    log[#log + 1] = 's'
    log[#log + 1] = 1
  end
elseif not closedSince then
  redis.call('HDEL', statsKey, 'soldOut')
end
if closedSince then
  -- The close's count (0) stands.
elseif seatsLeft >= 0 then
  redis.call('HSET', statsKey, 'left', seatsLeft, 'leftUntil', now + tonumber(ARGV[9]))
else
  redis.call('HDEL', statsKey, 'left', 'leftUntil')
end
local active = redis.call('ZCARD', activeKey)
local free = math.min(capacity - active, maxBatch)
if closed == 1 or soldOut or closedSince or seatsLeft == 0 or unsettled then free = 0 end
local admitted = 0
if free > 0 then
  local popped = redis.call('ZPOPMIN', waitKey, free)
  local untilMs = now + tonumber(ARGV[2])
  local slots, seenNow, entries = {}, {}, {}
  for i = 1, #popped, 2 do
    slots[#slots + 1] = untilMs
    slots[#slots + 1] = popped[i]
    -- Admission starts the idle clock: the fan gets the full idle time to notice the slot.
    seenNow[#seenNow + 1] = presenceScore(watchCountKey, watchedSeenKey, popped[i], now)
    seenNow[#seenNow + 1] = popped[i]
    entries[#entries + 1] = popped[i] .. ':' .. popped[i + 1]
  end
  zaddPairs(activeKey, slots)
  zaddPairs(activeSeenKey, seenNow)
  -- Their entries in seen are left to lapse: the absent sweep takes them out with its rank range (they
  -- are no longer in wait, so nobody is dropped for them), which is far cheaper than a lookup each now.
  admitted = #entries
  active = active + admitted
  if admitted > 0 then
    log[#log + 1] = 'a'
    log[#log + 1] = table.concat(entries, ',')
    log[#log + 1] = 'u'
    log[#log + 1] = untilMs
  end
end
logDepartures(statsKey, departuresKey, log)
-- Admission rate over the last window: one "ms:count" entry per tick that had anyone to admit,
-- oldest trimmed. Ticks before opening admit nobody by design, and ticks of an empty line had nobody
-- to admit: they say nothing of the pace (one before the first entrant would open the span, and that
-- entrant's admission a moment later read as hundreds a minute). Ticks paused for want of seats do
-- count: that is the pace fans in line really see.
local rate = -1
if closed == 0 then
  if admitted > 0 or redis.call('ZCARD', waitKey) > 0 then redis.call('LPUSH', admissionsKey, now .. ':' .. admitted) end
  -- Gone a window after the last tick that visited the line (its entries are stale by then anyway).
  redis.call('PEXPIRE', admissionsKey, ARGV[4] * 2)
  local windowStart = now - tonumber(ARGV[4])
  while true do
    local oldest = redis.call('LINDEX', admissionsKey, -1)
    if not oldest or tonumber(string.match(oldest, '^(%d+)')) >= windowStart then break end
    redis.call('RPOP', admissionsKey)
  end
  local entries = redis.call('LRANGE', admissionsKey, 0, -1)
  -- The oldest tick opens the span: its admissions came before it, not within it (counted, an
  -- opening's whole batch followed by quiet ticks read as a pace of thousands a minute).
  local total = 0
  for i = 1, #entries - 1 do total = total + tonumber(string.match(entries[i], ':(%d+)$')) end
  -- Per minute, as an integer; with a single tick recorded just now the span is unknown, so no rate yet.
  if #entries > 0 then
    local span = now - tonumber(string.match(entries[#entries], '^(%d+)'))
    if span > 0 then rate = math.floor(total * 60000 / span) end
  end
end
-- The presence limits, for status and entry calls to judge by (forgetIfAbsent).
redis.call('HSET', statsKey, 'rate', rate, 'grace', ARGV[5], 'idle', ARGV[6], 'tickAt', now, 'unattended', ARGV[12])
if capacityKnown then redis.call('HSET', statsKey, 'cap', capacity) end
local waiting = redis.call('ZCARD', waitKey)
-- Presence of fans no longer in line (expired, admitted elsewhere) is forgotten with the line itself.
if waiting == 0 then redis.call('DEL', seenKey) end
if active == 0 then redis.call('DEL', activeSeenKey) end
-- Nobody followed live here: no replica holds a fan, so their beats are forgotten too (a replica that
-- follows fans again registers and beats anew); otherwise each process that ever followed the concert
-- would stay listed once the concert leaves the tick's index.
local watched = redis.call('HLEN', watchCountKey)
if watched == 0 then redis.call('DEL', replicasKey) end
return {admitted, expired, waiting, active, droppedWaiting, droppedActive, opened, closed, leftLine, soldOutNow, watched}
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

/** QUEUE_CLOSE_SOLD_OUT's answers. */
export const CLOSE_REOPENED = 0;
export const CLOSE_CLOSED_NOW = 1;
export const CLOSE_ALREADY_CLOSED = 2;

/**
 * The concert's last seat was just sold (MySQL confirms every seat reserved): the line's door closes
 * at once, so an entrant is answered SOLD_OUT and statuses read no seat left, from now on rather than
 * from the next tick, which then empties the line (QUEUE_ADMIT; the close's stamp tells a tick whose
 * verdict predates it). Not when a cancellation reopened the line since the caller read
 * `reopens` (ARGV[1]): that verdict is stale. Returns CLOSE_CLOSED_NOW, CLOSE_ALREADY_CLOSED or
 * CLOSE_REOPENED (stale).
 */
export const QUEUE_CLOSE_SOLD_OUT = defineScript<number, [reopensSeen: string, seatsLeftTtlMs: number]>()({
  name: 'queueCloseSoldOut',
  keys: ['stats'],
  uses: [REDIS_NOW, MARK_SOLD_OUT],
  lua: `
if (redis.call('HGET', statsKey, 'reopens') or '') ~= ARGV[1] then return ${CLOSE_REOPENED} end
redis.call('HSET', statsKey, 'left', 0, 'leftUntil', redisNow() + tonumber(ARGV[2]))
if redis.call('HGET', statsKey, 'soldOut') == '1' then return ${CLOSE_ALREADY_CLOSED} end
markSoldOut(statsKey)
return ${CLOSE_CLOSED_NOW}
`,
});

/**
 * Seats came back (a cancellation): the line opens at once, and seatsLeft is read afresh rather than
 * from the last tick. The next tick closes it again if the concert is still sold out; a tick already
 * under way, whose sold-out verdict may predate the cancellation, sees `reopens` moved and does not.
 */
export const QUEUE_REOPEN = defineScript<number, []>()({
  name: 'queueReopen',
  keys: ['stats'],
  lua: `
redis.call('HDEL', statsKey, 'soldOut', 'left', 'leftUntil')
redis.call('HINCRBY', statsKey, 'reopens', 1)
return 0
`,
});

export const QUEUE_SCRIPTS = [
  QUEUE_STATUS,
  QUEUE_ENTER,
  QUEUE_LEAVE,
  QUEUE_END_ACTIVE,
  QUEUE_WATCH,
  QUEUE_UNWATCH,
  QUEUE_HEARTBEAT,
  QUEUE_FEED,
  QUEUE_FIGURES_NOW,
  SALES_SET,
  SALES_RESTORE,
  QUEUE_ADMIT,
  QUEUE_SEATS_LEFT,
  QUEUE_CLOSE_SOLD_OUT,
  QUEUE_REOPEN,
] as const;

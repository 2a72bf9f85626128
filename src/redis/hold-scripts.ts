import { REDIS_NOW } from './clock';
import { defineScript, luaFunction, type ScriptArg } from './script';

/**
 * Lua for seat holds: a hold is a single-key lock with a TTL, bound to its owner. The keys are one
 * schedule's (one slot): bySeat seat → "holdId|userId|expiresAtMs", expiry seat → expiresAtMs,
 * perUser user → live hold count, takenUntil seat → the expiry the hold was taken with (which bounds
 * how long payments may keep it; a hash of its own, so replicas of an earlier version, which parse
 * bySeat's values strictly, keep working beside this one during a rolling deploy) and `claimed:seat`
 * → the hold's ID once it was handed out again (SAME; see HOLD_RELEASE), paying seat →
 * "count:untilMs", the payments that keep the hold and until when at the latest (a release by the fan
 * would otherwise let the seat be announced free, and answered as released, while a payment commits;
 * a count, so one payment that fails does not unmark a hold another is still paying). Time is Redis's
 * own (REDIS_NOW). Every script first purges lapsed holds and returns their seats, so the caller can
 * announce them AVAILABLE.
 */
const HOLD_KEYS = ['bySeat', 'expiry', 'perUser', 'takenUntil', 'paying'] as const;

/** Forgets the hold on `seat` (the caller removes it from `expiry`), giving back its owner's count. */
const FORGET_HOLD = luaFunction(
  'forgetHold',
  `
local function forgetHold(bySeat, perUser, takenUntil, paying, seat, owner)
  if redis.call('HINCRBY', perUser, owner, -1) <= 0 then redis.call('HDEL', perUser, owner) end
  redis.call('HDEL', bySeat, seat)
  redis.call('HDEL', takenUntil, seat, 'claimed:' .. seat)
  redis.call('HDEL', paying, seat)
end`,
);

/** Deletes the holds lapsed by `now`, giving back their owners' counts; returns their seats. */
const PURGE_LAPSED = luaFunction(
  'purgeLapsed',
  `
local function purgeLapsed(bySeat, expiry, perUser, takenUntil, paying, now)
  local purged = redis.call('ZRANGEBYSCORE', expiry, '-inf', now)
  for _, seat in ipairs(purged) do
    local value = redis.call('HGET', bySeat, seat)
    if value then
      forgetHold(bySeat, perUser, takenUntil, paying, seat, string.match(value, '^[^|]*|([^|]*)|'))
    else
      redis.call('HDEL', takenUntil, seat)
      redis.call('HDEL', paying, seat)
    end
  end
  if #purged > 0 then redis.call('ZREMRANGEBYSCORE', expiry, '-inf', now) end
  return purged
end`,
  [FORGET_HOLD],
);

const USES = [REDIS_NOW, PURGE_LAPSED];

/** Whether the live hold on `seat` is `holdId`, owned by `user`. */
const HELD_BY = luaFunction(
  'heldBy',
  `
local function heldBy(bySeat, seat, holdId, user)
  local id, owner = string.match(redis.call('HGET', bySeat, seat) or '', '^([^|]*)|([^|]*)|')
  return id == holdId and owner == user
end`,
);

/** The payments keeping the hold on `seat` now, and until when: {0, 0} when none (or the mark is stale). */
const PAYING_NOW = luaFunction(
  'payingNow',
  `
local function payingNow(paying, seat, now)
  local count, untilMs = string.match(redis.call('HGET', paying, seat) or '', '^(%d+):(%d+)$')
  if not count or tonumber(untilMs) <= now then return 0, 0 end
  return tonumber(count), tonumber(untilMs)
end`,
);

/**
 * Returns {outcome, holdId, expiresAtMs, purged...}: NEW or SAME (the caller already holds it),
 * or {TAKEN | LIMIT | SOLD, '', '', purged...}. With its seat number, a seat whose sale the inventory
 * has marked is SOLD, untouched: taken, it would count against the caller's limit until the caller's
 * check in MySQL gave it back, and free seats asked for meanwhile were refused (HOLD_LIMIT_REACHED).
 * The caller asks MySQL, and calls again without the number if the mark is stale.
 */
export const HOLD_SEAT = defineScript<
  string[],
  [seat: number, user: number, newHoldId: string, ttlMs: number, maxPerUser: number] | [seat: number, user: number, newHoldId: string, ttlMs: number, maxPerUser: number, seatNumber: number]
>()({
  name: 'holdSeat',
  keys: [...HOLD_KEYS, 'sold'],
  uses: USES,
  lua: `
local now = redisNow()
local purged = purgeLapsed(bySeatKey, expiryKey, perUserKey, takenUntilKey, payingKey, now)
local seat, user, newHoldId = ARGV[1], ARGV[2], ARGV[3]
local expiresAt = tostring(now + tonumber(ARGV[4]))
local function reply(outcome, holdId, expiresAt)
  local out = {outcome, holdId, expiresAt}
  for _, s in ipairs(purged) do out[#out + 1] = s end
  return out
end
local value = redis.call('HGET', bySeatKey, seat)
if value then
  local holdId, owner, expiresAt = string.match(value, '^([^|]*)|([^|]*)|(%d+)$')
  if owner == user then
    -- Handed out again: a request that made this hold and then lost its answer must not release it now.
    redis.call('HSET', takenUntilKey, 'claimed:' .. seat, holdId)
    return reply('SAME', holdId, expiresAt)
  end
  return reply('TAKEN', '', '')
end
if ARGV[6] and redis.call('GETBIT', soldKey, ARGV[6]) == 1 then return reply('SOLD', '', '') end
if tonumber(redis.call('HGET', perUserKey, user) or '0') >= tonumber(ARGV[5]) then return reply('LIMIT', '', '') end
redis.call('HSET', bySeatKey, seat, newHoldId .. '|' .. user .. '|' .. expiresAt)
redis.call('HSET', takenUntilKey, seat, expiresAt)
-- A mark an earlier version's release left behind (it did not know them) is no payment of this hold.
redis.call('HDEL', payingKey, seat)
redis.call('ZADD', expiryKey, expiresAt, seat)
redis.call('HINCRBY', perUserKey, user, 1)
return reply('NEW', newHoldId, expiresAt)
`,
});

/** releaseHold's answer when a payment keeps the hold (see HOLD_EXTEND). */
export const HOLD_BEING_PAID = 2;

/**
 * Deletes the hold only if it is that user's live hold, and (unless `evenIfPaying`, for what a
 * payment itself releases) no payment keeps it; with `unlessClaimed`, only if no request has been
 * handed it since (SAME: see HOLD_SEAT), for the request that made it but never heard so. Returns
 * {1 released | 0 not that user's live hold, or claimed | HOLD_BEING_PAID, purged}.
 */
export const HOLD_RELEASE = defineScript<[number, string[]], [seat: number, holdId: string, user: number, evenIfPaying: 0 | 1, unlessClaimed: 0 | 1]>()({
  name: 'holdRelease',
  keys: HOLD_KEYS,
  uses: [...USES, FORGET_HOLD, PAYING_NOW, HELD_BY],
  lua: `
local now = redisNow()
local purged = purgeLapsed(bySeatKey, expiryKey, perUserKey, takenUntilKey, payingKey, now)
local seat, holdId, user = ARGV[1], ARGV[2], ARGV[3]
if heldBy(bySeatKey, seat, holdId, user) then
  if ARGV[5] == '1' and redis.call('HGET', takenUntilKey, 'claimed:' .. seat) == holdId then return {0, purged} end
  if ARGV[4] ~= '1' and payingNow(payingKey, seat, now) > 0 then return {${HOLD_BEING_PAID}, purged} end
  forgetHold(bySeatKey, perUserKey, takenUntilKey, payingKey, seat, user)
  redis.call('ZREM', expiryKey, seat)
  return {1, purged}
end
return {0, purged}
`,
});

/**
 * ARGV: optionally seats. Returns {purged, [seat, value, seat, value, ...]} of the live holds
 * on those seats, or of every seat when none are named (the seat map).
 */
export const HOLD_STATUS = defineScript<[string[], string[]], number[]>()({
  name: 'holdStatus',
  keys: HOLD_KEYS,
  uses: USES,
  lua: `
local now = redisNow()
local purged = purgeLapsed(bySeatKey, expiryKey, perUserKey, takenUntilKey, payingKey, now)
if #ARGV == 0 then return {purged, redis.call('HGETALL', bySeatKey)} end
local flat = {}
for i = 1, #ARGV do
  local value = redis.call('HGET', bySeatKey, ARGV[i])
  if value then
    flat[#flat + 1] = ARGV[i]
    flat[#flat + 1] = value
  end
end
return {purged, flat}
`,
});

/**
 * For a payment: each named hold that is still that user's live hold is kept until at least
 * now + keepMs, so it cannot lapse (and go to a rival) while the payment commits; but never past
 * keepMs after the expiry it was taken with, so payments that fail (or are made to fail) cannot
 * keep a seat for good. Each is marked as being paid until then (`paying`): the fan's own release
 * waits for the payment's outcome (HOLD_UNKEEP takes the mark back when it fails). Returns {purged,
 * seats of the holds confirmed}.
 */
export const HOLD_EXTEND = defineScript<[string[], string[]], [user: number, keepMs: number, ...seatAndHoldIdPairs: ScriptArg[]]>()({
  name: 'holdExtend',
  keys: HOLD_KEYS,
  uses: [...USES, PAYING_NOW],
  lua: `
local now = redisNow()
local purged = purgeLapsed(bySeatKey, expiryKey, perUserKey, takenUntilKey, payingKey, now)
local user = ARGV[1]
local keepMs = tonumber(ARGV[2])
local keepUntil = now + keepMs
local confirmed = {}
for i = 3, #ARGV, 2 do
  local seat, holdId = ARGV[i], ARGV[i + 1]
  local value = redis.call('HGET', bySeatKey, seat)
  if value then
    local id, owner, expiresAt = string.match(value, '^([^|]*)|([^|]*)|(%d+)$')
    if id == holdId and owner == user then
      -- A hold taken by an earlier version has no takenUntil (its expiry now stands in), or one left
      -- by an earlier hold of the seat that such a version purged: never kept, a hold's expiry stays
      -- within takenUntil + keep, so an expiry past that says the entry is another hold's.
      local takenUntil = tonumber(redis.call('HGET', takenUntilKey, seat) or expiresAt)
      if tonumber(expiresAt) > takenUntil + keepMs then takenUntil = tonumber(expiresAt) end
      local untilMs = math.min(keepUntil, takenUntil + keepMs)
      if tonumber(expiresAt) < untilMs then
        redis.call('HSET', bySeatKey, seat, id .. '|' .. owner .. '|' .. untilMs)
        redis.call('ZADD', expiryKey, untilMs, seat)
      end
      -- One payment more; the mark lasts as long as the longest keep (a shorter one cuts nothing).
      local count, markedUntil = payingNow(payingKey, seat, now)
      redis.call('HSET', payingKey, seat, (count + 1) .. ':' .. math.max(markedUntil, keepUntil))
      confirmed[#confirmed + 1] = seat
    end
  end
end
return {purged, confirmed}
`,
});

/**
 * A payment that kept these holds (HOLD_EXTEND) ended without paying them: one payment fewer on each
 * that is still the user's. When none is left, the hold is unmarked, so the fan may release it again,
 * and goes back to the expiry it was taken with (or lapses now, if that has passed): a failed payment
 * changes nothing, so retrying one that keeps failing cannot stretch a hold past HOLD_TTL_SECONDS.
 * Returns 0.
 */
export const HOLD_UNKEEP = defineScript<number, [user: number, keepMs: number, ...seatAndHoldIdPairs: ScriptArg[]]>()({
  name: 'holdUnkeep',
  keys: HOLD_KEYS,
  uses: [REDIS_NOW, PAYING_NOW, HELD_BY],
  lua: `
local now = redisNow()
local keepMs = tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  local seat = ARGV[i]
  if heldBy(bySeatKey, seat, ARGV[i + 1], ARGV[1]) then
    local count, markedUntil = payingNow(payingKey, seat, now)
    if count > 1 then
      redis.call('HSET', payingKey, seat, (count - 1) .. ':' .. markedUntil)
    else
      redis.call('HDEL', payingKey, seat)
      local takenUntil = tonumber(redis.call('HGET', takenUntilKey, seat) or '0')
      local id, owner, expiresAt = string.match(redis.call('HGET', bySeatKey, seat), '^([^|]*)|([^|]*)|(%d+)$')
      local untilMs = math.max(takenUntil, now)
      -- A hold without takenUntil keeps what it has: taken by an earlier version, or with one an
      -- earlier hold of the seat left (a kept hold's expiry stays within takenUntil + keep, see HOLD_EXTEND).
      if takenUntil > 0 and tonumber(expiresAt) <= takenUntil + keepMs and tonumber(expiresAt) > untilMs then
        redis.call('HSET', bySeatKey, seat, id .. '|' .. owner .. '|' .. untilMs)
        redis.call('ZADD', expiryKey, untilMs, seat)
      end
    end
  end
end
return 0
`,
});

/** Purges lapsed holds; returns {purged, live holds left}. */
export const HOLD_SWEEP = defineScript<[string[], number], []>()({
  name: 'holdSweep',
  keys: HOLD_KEYS,
  uses: USES,
  lua: `
local now = redisNow()
local purged = purgeLapsed(bySeatKey, expiryKey, perUserKey, takenUntilKey, payingKey, now)
return {purged, redis.call('HLEN', bySeatKey)}
`,
});

/**
 * A user's listing of holds (ZSET holdId → expiresAt, on the user's own slot): lists the given holds
 * and keeps the listing until `untilMs` at least. Its expiry only moves later, so holding a seat
 * again, or keeping one for a payment, never cuts short the listing of a hold that lasts longer.
 * With no hold given, an absent listing stays absent. Returns 1 if the listing exists.
 */
export const HOLD_LISTING_KEEP = defineScript<number, [untilMs: number, ...holdIds: string[]]>()({
  name: 'holdListingKeep',
  keys: ['listing'],
  lua: `
local untilMs = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', listingKey, untilMs, ARGV[i]) end
if redis.call('EXISTS', listingKey) == 0 then return 0 end
if redis.call('PEXPIRETIME', listingKey) < untilMs then redis.call('PEXPIREAT', listingKey, untilMs) end
return 1
`,
});

export const HOLD_SCRIPTS = [HOLD_SEAT, HOLD_RELEASE, HOLD_STATUS, HOLD_EXTEND, HOLD_UNKEEP, HOLD_SWEEP, HOLD_LISTING_KEEP] as const;

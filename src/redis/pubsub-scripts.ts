import { REDIS_NOW } from './clock';
import { defineScript, luaFunction } from './script';

/**
 * A seat change: appended to its schedule's log, a stream trimmed at each change to the last `keepMs`
 * and gone `idleMs` after its last change, and published with the entry's ID as "seatChangesCursor",
 * so a subscriber catching up from the log can tell what it has heard live from what it has not.
 * `message` is a JSON object. Every seat log is in the {pubsub} slot: on a cluster a plain PUBLISH goes
 * to any node and reaches subscribers through the cluster bus, so two messages a process publishes one
 * after the other could arrive in the other order (a seat shown HELD after it was released); from one
 * node they leave, and arrive, in order.
 */
const LOG_AND_PUBLISH = luaFunction(
  'logAndPublish',
  `
local function logAndPublish(log, channel, message, keepMs, idleMs, now)
  local id = redis.call('XADD', log, 'MINID', '~', now - keepMs, '*', 'm', message)
  redis.call('PEXPIRE', log, idleMs)
  redis.call('PUBLISH', channel, string.sub(message, 1, -2) .. ',"seatChangesCursor":"' .. id .. '"}')
end`,
);

/** LOG_AND_PUBLISH of one seat change. ARGV: keepMs, idleMs, channel, message. */
export const PUBLISH_SEAT_CHANGE = defineScript<null, [keepMs: number, idleMs: number, channel: string, message: string]>()({
  name: 'publishSeatChange',
  keys: ['log'],
  uses: [REDIS_NOW, LOG_AND_PUBLISH],
  lua: `
logAndPublish(logKey, ARGV[3], ARGV[4], tonumber(ARGV[1]), tonumber(ARGV[2]), redisNow())
return nil
`,
});

/**
 * PUBLISH_SEAT_CHANGE for several seats of one schedule, done only by the first caller to claim
 * `told` (SET NX, for ARGV[1] ms): of a payment's request and its retries racing to follow it up, one
 * tells the seat maps. ARGV: ttlMs, keepMs, idleMs, channel, then the messages. Returns 1 if
 * published, 0 if told already.
 */
export const PUBLISH_ONCE = defineScript<number, [ttlMs: number, keepMs: number, idleMs: number, channel: string, ...messages: string[]]>()({
  name: 'publishOnce',
  keys: ['told', 'log'],
  uses: [REDIS_NOW, LOG_AND_PUBLISH],
  lua: `
if not redis.call('SET', toldKey, '1', 'NX', 'PX', ARGV[1]) then return 0 end
local now = redisNow()
for i = 5, #ARGV do logAndPublish(logKey, ARGV[4], ARGV[i], tonumber(ARGV[2]), tonumber(ARGV[3]), now) end
return 1
`,
});

/**
 * Where the seat log stands: its last entry's ID, or, with none kept, one just before any entry
 * added from now on. A seat map read after this has every change up to it; the log has the rest.
 */
export const SEAT_LOG_CURSOR = defineScript<string, []>()({
  name: 'seatLogCursor',
  keys: ['log'],
  uses: [REDIS_NOW],
  lua: `
local last = redis.call('XREVRANGE', logKey, '+', '-', 'COUNT', 1)[1]
if last then return last[1] end
return (redisNow() - 1) .. '-0'
`,
});

/**
 * The seat log's entries after ARGV[1] (a cursor, "ms-seq"), as [id, [field, message]] pairs. Or,
 * with ARGV[4] = 1 (strict), false when some change after the cursor may be gone: the log's last
 * change came more than keepMs (ARGV[2]) after it (that change trimmed what was older), or the log is
 * gone and the cursor is older than idleMs (ARGV[3]) (a change after it would have kept the log that
 * long); and false for a cursor further ahead of Redis's clock than keepMs (none of this log's).
 * Not strict: whatever the log still has after the cursor.
 */
export const SEAT_LOG_SINCE = defineScript<[string, string[]][] | null, [after: string, keepMs: number, idleMs: number, strict: 0 | 1]>()({
  name: 'seatLogSince',
  keys: ['log'],
  uses: [REDIS_NOW],
  lua: `
if ARGV[4] == '1' then
  local now = redisNow()
  local keepMs = tonumber(ARGV[2])
  local at = tonumber(string.match(ARGV[1], '^(%d+)-'))
  if at > now + keepMs then return false end
  local last = redis.call('XREVRANGE', logKey, '+', '-', 'COUNT', 1)[1]
  if last then
    if at < tonumber(string.match(last[1], '^(%d+)-')) - keepMs then return false end
  elseif at <= now - tonumber(ARGV[3]) then
    return false
  end
end
return redis.call('XRANGE', logKey, '(' .. ARGV[1], '+')
`,
});

/**
 * Numbers an admission tick and announces it, in one step on the node of the counter's slot (the
 * {pubsub} one): ticks leave in the order of their numbers, overlapping ticks of two replicas too, so
 * a replica that hears any number but its last + 1 really lost messages. ARGV: channel, the message's
 * JSON without its closing brace (the number goes in as "seq"). Returns the number.
 */
export const PUBLISH_TICK = defineScript<number, [channel: string, messageHead: string]>()({
  name: 'publishTick',
  keys: ['seq'],
  lua: `
local seq = redis.call('INCR', seqKey)
redis.call('PUBLISH', ARGV[1], ARGV[2] .. ',"seq":' .. seq .. '}')
return seq
`,
});

export const PUBSUB_SCRIPTS = [PUBLISH_SEAT_CHANGE, PUBLISH_ONCE, SEAT_LOG_CURSOR, SEAT_LOG_SINCE, PUBLISH_TICK] as const;

import { REDIS_NOW } from './clock';
import { defineScript } from './script';

/**
 * Lua for one schedule's inventory: the `sold` bitmap (seat number → 1 while CONFIRMED; bit 0 set
 * once the bitmap is complete) beside the schedule's hold expiry ZSET, in one slot. A rebuild ORs in
 * the seats MySQL had reserved when it read them, in chunks; a sale or cancellation committed since
 * is newer than that read: marked while the bitmap is incomplete, it is also kept in `marks`, and the
 * rebuild leaves alone a seat marked free there (a cancellation landing mid-rebuild is not undone).
 */

/** How long marks made while a bitmap is incomplete are kept: far longer than any rebuild takes. */
const MARKS_TTL_MS = 10 * 60_000;

/** {reserved, held}: reserved is -1 while the bitmap is incomplete (unknown, never "none"); held counts live holds. */
export const INVENTORY_READ = defineScript<[reserved: number, held: number], []>()({
  name: 'inventoryRead',
  keys: ['sold', 'holdExpiry'],
  uses: [REDIS_NOW],
  lua: `
local held = redis.call('ZCOUNT', holdExpiryKey, '(' .. redisNow(), '+inf')
if redis.call('GETBIT', soldKey, 0) == 0 then return {-1, held} end
return {redis.call('BITCOUNT', soldKey) - 1, held}
`,
});

/** Sets the seats' bits to `bit` (1 sold, 0 cancelled), complete bitmap or not; returns 1. */
export const INVENTORY_MARK = defineScript<number, [bit: 0 | 1, ...seatNumbers: number[]]>()({
  name: 'inventoryMark',
  keys: ['sold', 'marks'],
  lua: `
local incomplete = redis.call('GETBIT', soldKey, 0) == 0
for i = 2, #ARGV do
  redis.call('SETBIT', soldKey, ARGV[i], ARGV[1])
  if incomplete then redis.call('HSET', marksKey, ARGV[i], ARGV[1]) end
end
if incomplete then redis.call('PEXPIRE', marksKey, ${MARKS_TTL_MS}) end
return 1
`,
});

/**
 * Rebuild from MySQL, in chunks: ORs the seats in, but those marked free since the bitmap became
 * incomplete; the last chunk (complete = 1) marks the bitmap complete and forgets the marks. Returns
 * the reserved count then (-1 for an earlier chunk). A bitmap already complete (another process's
 * rebuild finished first, and marks since went straight to it) is left as it is: this rebuild's read
 * of MySQL may be older than those marks.
 */
export const INVENTORY_REBUILD = defineScript<number, [complete: 0 | 1, ...seatNumbers: number[]]>()({
  name: 'inventoryRebuild',
  keys: ['sold', 'marks'],
  lua: `
if redis.call('GETBIT', soldKey, 0) == 0 then
  local marked = redis.call('EXISTS', marksKey) == 1
  for i = 2, #ARGV do
    if not marked or redis.call('HGET', marksKey, ARGV[i]) ~= '0' then redis.call('SETBIT', soldKey, ARGV[i], 1) end
  end
  if ARGV[1] ~= '1' then return -1 end
  redis.call('SETBIT', soldKey, 0, 1)
  redis.call('DEL', marksKey)
elseif ARGV[1] ~= '1' then
  return -1
end
return redis.call('BITCOUNT', soldKey) - 1
`,
});

export const INVENTORY_SCRIPTS = [INVENTORY_READ, INVENTORY_MARK, INVENTORY_REBUILD] as const;

import { REDIS_NOW } from './clock';
import { defineScript } from './script';

/**
 * Lua for one schedule's inventory: the `sold` bitmap (seat number → 1 while CONFIRMED; bit 0 set
 * once the bitmap is complete) beside the schedule's hold expiry ZSET, in one slot. Setting a bit is
 * idempotent and commutes with a rebuild that ORs MySQL's sold seats in, so a sale whose bit lands
 * while the bitmap is being rebuilt is never lost.
 */

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
  keys: ['sold'],
  lua: `
for i = 2, #ARGV do redis.call('SETBIT', soldKey, ARGV[i], ARGV[1]) end
return 1
`,
});

/**
 * Rebuild from MySQL, in chunks: ORs the seats in; the last chunk (complete = 1) marks the bitmap
 * complete. Returns the reserved count then (-1 for an earlier chunk).
 */
export const INVENTORY_REBUILD = defineScript<number, [complete: 0 | 1, ...seatNumbers: number[]]>()({
  name: 'inventoryRebuild',
  keys: ['sold'],
  lua: `
for i = 2, #ARGV do redis.call('SETBIT', soldKey, ARGV[i], 1) end
if ARGV[1] ~= '1' then return -1 end
redis.call('SETBIT', soldKey, 0, 1)
return redis.call('BITCOUNT', soldKey) - 1
`,
});

export const INVENTORY_SCRIPTS = [INVENTORY_READ, INVENTORY_MARK, INVENTORY_REBUILD] as const;

import { defineScript, luaFunction } from './script';

/**
 * Lua for the operation limits: fixed-window counts laid out as rate-limiter-flexible keeps them (an
 * integer created with SET NX EX, the window its TTL, then INCRBY), so its reward and delete work on
 * the same keys. Returns the count and the ms left in the window.
 */
const WINDOW_COUNT = luaFunction(
  'windowCount',
  `
local function windowCount(key, windowSeconds)
  redis.call('SET', key, 0, 'EX', windowSeconds, 'NX')
  local count = redis.call('INCRBY', key, 1)
  local ttl = redis.call('PTTL', key)
  if ttl == -1 then
    redis.call('EXPIRE', key, windowSeconds)
    ttl = 1000 * windowSeconds
  end
  return count, ttl
end`,
);

/**
 * One event counted against two limits in one command: the first, and the second only when the first
 * allows it; an event the second refuses gives the first its point back. Reply: who refused (0 none,
 * 1 the first, 2 the second), and the ms left in that count's window.
 */
export const COUNT_BOTH = defineScript<[refusedBy: 0 | 1 | 2, msLeft: number], [firstMax: number, firstWindowSeconds: number, secondMax: number, secondWindowSeconds: number]>()({
  name: 'countBoth',
  keys: ['first', 'second'],
  uses: [WINDOW_COUNT],
  lua: `
local count, ttl = windowCount(firstKey, ARGV[2])
if count > tonumber(ARGV[1]) then return {1, ttl} end
count, ttl = windowCount(secondKey, ARGV[4])
if count > tonumber(ARGV[3]) then
  redis.call('DECRBY', firstKey, 1)
  return {2, ttl}
end
return {0, 0}
`,
});

export const LIMIT_SCRIPTS = [COUNT_BOTH] as const;

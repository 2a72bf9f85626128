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

/** COUNT_BOTH's first reply: which count refused the event. */
export const REFUSED_BY_NONE = 0;
export const REFUSED_BY_FIRST = 1;
export const REFUSED_BY_SECOND = 2;
type RefusedBy = typeof REFUSED_BY_NONE | typeof REFUSED_BY_FIRST | typeof REFUSED_BY_SECOND;

/**
 * One event counted against two limits in one command: the first, and the second only when the first
 * allows it; an event the second refuses gives the first its point back. Reply: who refused
 * (REFUSED_BY_*), and the ms left in that count's window.
 */
export const COUNT_BOTH = defineScript<[refusedBy: RefusedBy, msLeft: number], [firstMax: number, firstWindowSeconds: number, secondMax: number, secondWindowSeconds: number]>()({
  name: 'countBoth',
  keys: ['first', 'second'],
  uses: [WINDOW_COUNT],
  lua: `
local count, ttl = windowCount(firstKey, ARGV[2])
if count > tonumber(ARGV[1]) then return {${REFUSED_BY_FIRST}, ttl} end
count, ttl = windowCount(secondKey, ARGV[4])
if count > tonumber(ARGV[3]) then
  redis.call('DECRBY', firstKey, 1)
  return {${REFUSED_BY_SECOND}, ttl}
end
return {${REFUSED_BY_NONE}, 0}
`,
});

/**
 * Gives one counted event back, only to a count still running and above 0. rate-limiter-flexible's
 * reward on a count whose window has just ended makes a new one at -1, with a whole new window: a
 * refused sign-in's give-back racing its window's end would bank an extra guess for the next.
 */
export const GIVE_BACK = defineScript<number, []>()({
  name: 'giveBack',
  keys: ['count'],
  lua: `
local count = tonumber(redis.call('GET', countKey) or '0')
if count > 0 then redis.call('DECRBY', countKey, 1) end
return count
`,
});

export const LIMIT_SCRIPTS = [COUNT_BOTH, GIVE_BACK] as const;

import { REDIS_NOW } from './clock';
import { defineScript } from './script';

/**
 * Lua for an account's open graphql-ws connections, counted across replicas: a ZSET socketId → lease
 * expiry (Redis clock). A replica renews its sockets' leases while they are open and removes each on
 * close; the lease is what frees the count of a replica that died without closing its sockets.
 */

/** Purges lapsed leases, then adds the socket unless `limit` are open already. Returns 1 (opened) or 0. */
export const SOCKET_OPEN = defineScript<number, [socketId: string, leaseMs: number, limit: number]>()({
  name: 'socketOpen',
  keys: ['sockets'],
  uses: [REDIS_NOW],
  lua: `
local now = redisNow()
local leaseMs = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', socketsKey, '-inf', now)
if redis.call('ZCARD', socketsKey) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', socketsKey, now + leaseMs, ARGV[1])
redis.call('PEXPIRE', socketsKey, leaseMs)
return 1
`,
});

/**
 * Extends the socket's lease, or counts it again if its lease is gone (Redis lost its data, or this
 * replica stalled past the lease): the socket is open, so it counts, even beyond the limit (the
 * account's next socket is then refused until one closes). Not reviving it left the account that
 * many sockets more than its limit for as long as they stayed open.
 */
export const SOCKET_RENEW = defineScript<number, [socketId: string, leaseMs: number]>()({
  name: 'socketRenew',
  keys: ['sockets'],
  uses: [REDIS_NOW],
  lua: `
local leaseMs = tonumber(ARGV[2])
redis.call('ZADD', socketsKey, redisNow() + leaseMs, ARGV[1])
redis.call('PEXPIRE', socketsKey, leaseMs)
return 1
`,
});

export const SOCKET_SCRIPTS = [SOCKET_OPEN, SOCKET_RENEW] as const;

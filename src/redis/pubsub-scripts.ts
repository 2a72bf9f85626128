import { defineScript } from './script';

/**
 * PUBLISH, sent to the node that owns `route`'s slot. On a cluster a plain PUBLISH goes to any node
 * and reaches subscribers through the cluster bus, so two messages a process publishes one after
 * the other can arrive in the other order (a seat shown HELD after it was released). Routed by a
 * key, every message of a channel leaves from one node, in order; on a single Redis it is a PUBLISH.
 * ARGV: channel, message. Returns the number of subscribers on that node.
 */
export const PUBLISH_ORDERED = defineScript<number, [channel: string, message: string]>()({
  name: 'publishOrdered',
  keys: ['route'],
  lua: `
return redis.call('PUBLISH', ARGV[1], ARGV[2])
`,
});

/**
 * PUBLISH_ORDERED for several messages, sent only by the first caller to claim `told` (SET NX, for
 * ARGV[1] ms): of a payment's request and its retries racing to follow it up, one tells the seat maps.
 * Routed, and delivered, as PUBLISH_ORDERED's (`told` is in the route's slot). ARGV: ttlMs, then
 * channel, message pairs. Returns 1 if published, 0 if told already.
 */
export const PUBLISH_ONCE = defineScript<number, [ttlMs: number, ...channelsAndMessages: string[]]>()({
  name: 'publishOnce',
  keys: ['told'],
  lua: `
if not redis.call('SET', toldKey, '1', 'NX', 'PX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return 1
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

export const PUBSUB_SCRIPTS = [PUBLISH_ORDERED, PUBLISH_ONCE, PUBLISH_TICK] as const;

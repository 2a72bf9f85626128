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

export const PUBSUB_SCRIPTS = [PUBLISH_ORDERED, PUBLISH_TICK] as const;

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

export const PUBSUB_SCRIPTS = [PUBLISH_ORDERED] as const;

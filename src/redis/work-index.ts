import type { RedisClient } from './index';

/**
 * Takes an ID out of a work index (the SET a repeating job visits: queued concerts, schedules with
 * holds) once its work looked done. The write that adds work (enter, hold) adds to the index only once
 * its script has answered (on a Redis Cluster the index lives on another node, so nothing else orders
 * the two), so: remove, then look again, and put back if work appeared in between.
 * Whatever the interleaving, an ID with work left is never left out of the index.
 */
export async function dropFromWorkIndex(redis: RedisClient, index: string, id: number, hasWork: () => Promise<boolean>): Promise<void> {
  await redis.srem(index, id);
  if (await hasWork()) await redis.sadd(index, id);
}

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/logger';
import { createRedis, redisKeys, redisReady, type RedisClient } from '../src/redis';
import { masterOf, pidOf, redisCli, replicaOf, startCluster, stopCluster } from './support/cluster-nodes';
import { schedulerRefreshMs, startRepeatingJob, type RepeatingJob } from '../src/workers/repeating-job';

// A Redis Cluster of this file's own, whose master of the job queues' slot is failed over, then killed.
const BASE_PORT = 7950 + Math.floor(Math.random() * 5) * 10;
const EVERY_MS = 200;
/** As the admission tick's (ADMISSION_INTERVAL_MS by default): its scheduler is refreshed every 10 s only. */
const ADMISSION_EVERY_MS = 1000;
/** How long BullMQ's worker waits, after a failed look for its next job, before it looks again. */
const WORKER_LOOKS_AGAIN_MS = 10_000;
let seeds: { host: string; port: number }[] = [];

beforeAll(() => {
  seeds = startCluster(BASE_PORT);
}, 60_000);
afterAll(() => {
  stopCluster(BASE_PORT);
});

/**
 * A tick as the admission tick is: Redis commands on the job queues' slot (a concert whose keys share
 * its node), on a connection that fails fast, so a tick during the failover fails; and it takes most
 * of its period, so the failover most likely comes mid-tick.
 */
async function tick(ticks: number[], redis: RedisClient, key: string, takesMs = EVERY_MS * 0.75): Promise<void> {
  ticks.push(Date.now());
  await redis.incr(key);
  await new Promise((resolve) => setTimeout(resolve, takesMs));
  await redis.incr(key);
}

describe("the Redis Cluster master of the job queues' slot, failed over or killed", () => {
  it('pauses the ticks a moment for a failover; once a killed master is replaced, they go on', async () => {
    const bullPrefix = redisKeys(`killed${BASE_PORT}`).bullPrefix;
    const ticks: number[] = [];
    const redis = createRedis({ clusterNodes: seeds }, { commandTimeout: 2000 });
    await redisReady(redis);
    const job: RepeatingJob = await startRepeatingJob({ name: 'killed-probe', everyMs: EVERY_MS, redis: { clusterNodes: seeds }, prefix: bullPrefix, logger: createLogger('silent'), run: () => tick(ticks, redis, `${bullPrefix}:probe`) });
    // An admission-like tick: short, so that its worker is mostly waiting for the next one when the master dies.
    const admissionTicks: number[] = [];
    const admission: RepeatingJob = await startRepeatingJob({ name: 'killed-admission', everyMs: ADMISSION_EVERY_MS, redis: { clusterNodes: seeds }, prefix: bullPrefix, logger: createLogger('silent'), run: () => tick(admissionTicks, redis, `${bullPrefix}:admission`, 100) });
    // Its scheduler's refreshes start now, and its ticks fall due in step with them.
    const admissionStartedAt = Date.now();
    /** How long the ticks stopped from `from`: until the first tick after it that is followed by three more. */
    const resumedAfter = async (from: number, of = ticks) => {
      await vi.waitFor(() => expect(of.filter((at) => at > from).length).toBeGreaterThan(3), { timeout: 30_000, interval: 50 });
      return of.find((at) => at > from)! - from;
    };
    try {
      await vi.waitFor(() => expect(ticks.length).toBeGreaterThan(3), { timeout: 10_000, interval: 50 });

      // A manual failover loses nothing and takes a moment: so does the pause in the ticks.
      const master = masterOf(bullPrefix, seeds[0]!.port)!;
      const replica = replicaOf(master);
      redisCli(replica, 'cluster', 'failover');
      await vi.waitFor(() => expect(masterOf(bullPrefix, replica)).toBe(replica), { timeout: 10_000, interval: 50 });
      const failedOverAfter = await resumedAfter(Date.now());
      expect(failedOverAfter).toBeLessThan(2_000);

      // Killed: the slot has no master until the replica takes over (about 4 s); then the ticks go on
      // within a moment of the promotion. Killed midway between two admission ticks (its worker waiting
      // for the next, whose mark it has taken), and far from its scheduler's next refresh: BullMQ's
      // worker, its look failed meanwhile, looked next for 10 s, and only that refresh woke it, 4–5 s
      // after the promotion here (up to 10 s in a sale, and the watchdog restarted the worker).
      await resumedAfter(Date.now(), admissionTicks);
      const refreshMs = schedulerRefreshMs(ADMISSION_EVERY_MS);
      const killAt = admissionStartedAt + Math.ceil((Date.now() + 500 - admissionStartedAt) / refreshMs) * refreshMs + 1500;
      await new Promise((resolve) => setTimeout(resolve, killAt - Date.now()));
      const killedAt = Date.now();
      process.kill(pidOf(replica), 'SIGKILL');
      await vi.waitFor(() => expect(masterOf(bullPrefix, master)).toBe(master), { timeout: 20_000, interval: 100 });
      const promotedAfter = Date.now() - killedAt;
      const [probeAfter, admissionAfter] = await Promise.all([resumedAfter(killedAt), resumedAfter(killedAt, admissionTicks)]);
      // Mostly within a moment of the promotion; now and then on a loaded host (twice in six clean-clone
      // runs today, for either job: 9.5-9.8 s after the promotion) only once BullMQ's worker looks
      // again, 10 s after its failed look: the bound is that, so ticks that stay away still fail here.
      console.info(`worker-killed-node: promoted after ${promotedAfter} ms; ticks back after ${probeAfter} ms (200 ms job), ${admissionAfter} ms (1 s job)`);
      expect(probeAfter).toBeLessThan(promotedAfter + WORKER_LOOKS_AGAIN_MS + 2_000);
      expect(admissionAfter).toBeLessThan(promotedAfter + WORKER_LOOKS_AGAIN_MS + 2_000);
    } finally {
      await Promise.all([job.close(), admission.close()]);
      redis.disconnect();
    }
  }, 90_000);
});

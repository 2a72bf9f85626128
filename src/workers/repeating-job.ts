import { Queue, Worker } from 'bullmq';
import { connectRedis, type RedisTarget } from '../redis';
import type { Logger } from '../logger';
import { outcomeWithin } from '../time-limit';

export interface RepeatingJobOptions {
  /** Queue and scheduler name; every replica uses the same one, so BullMQ runs each tick once. */
  name: string;
  everyMs: number;
  redis: RedisTarget;
  /** BullMQ key prefix (with a hash tag for Redis Cluster). */
  prefix: string;
  logger: Logger;
  run: () => Promise<unknown>;
}

/**
 * How long closing waits for BullMQ's worker and queue. Their close waits for a tick under way (its
 * own commands are bounded), but also, for ever, on a connection stuck reconnecting to a Redis that
 * is away or just came back (taskforcesh/bullmq#4656): past this the replica lets them go, as a
 * killed process would, which the tick's once-per-slot job ID makes harmless.
 */
const CLOSE_WAIT_MS = 3000;

/** How often each worker replica re-asserts the scheduler: ten ticks, between 1 s and 10 s. */
export const schedulerRefreshMs = (everyMs: number) => Math.min(Math.max(everyMs * 10, 1000), 10_000);

export interface RepeatingJob {
  close(): Promise<void>;
}

/**
 * A BullMQ Job Scheduler plus a worker for it. The scheduler's jobs carry deterministic IDs per
 * time slot, so however many replicas upsert it and run workers, each tick runs exactly once.
 */
export async function startRepeatingJob(options: RepeatingJobOptions): Promise<RepeatingJob> {
  // BullMQ needs retrying connections (maxRetriesPerRequest: null) and refuses ioredis keyPrefix.
  const connection = connectRedis(options.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true });
  const queue = new Queue(options.name, { connection, prefix: options.prefix });
  const worker = new Worker(options.name, () => options.run(), {
    connection,
    prefix: options.prefix,
    concurrency: 1,
    // A missed tick is simply superseded by the next one: never retry.
    maxStalledCount: 0,
  });
  worker.on('failed', (_job, error) => options.logger.warn({ err: error, job: options.name }, 'repeating job failed'));
  worker.on('error', (error) => options.logger.warn({ err: error, job: options.name }, 'worker error'));
  queue.on('error', (error) => options.logger.warn({ err: error, job: options.name }, 'queue error'));
  const upsert = () => queue.upsertJobScheduler(options.name, { every: options.everyMs }, { name: options.name, opts: { removeOnComplete: true, removeOnFail: 100, attempts: 1 } });
  await upsert();
  // The scheduler lives in Redis: if Redis loses its data (FLUSHALL, failover to an empty replica)
  // ticks would stop for good. Upserting again now and then is idempotent and brings them back.
  const refresh = setInterval(() => {
    upsert().catch((error: unknown) => options.logger.warn({ err: error, job: options.name }, 'could not refresh the job scheduler'));
  }, schedulerRefreshMs(options.everyMs));
  refresh.unref();
  return {
    async close() {
      clearInterval(refresh);
      if ((await outcomeWithin(worker.close(), CLOSE_WAIT_MS)) === 'late') {
        options.logger.warn({ job: options.name }, 'the worker did not close in time (Redis away?): left behind');
        // Its own connections, stuck reconnecting, would keep retrying for ever.
        void worker.disconnect().catch(() => undefined);
      }
      await outcomeWithin(queue.close(), CLOSE_WAIT_MS);
      connection.disconnect();
    },
  };
}

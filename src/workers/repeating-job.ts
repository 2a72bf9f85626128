import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { connectRedis, type RedisTarget } from '../redis';
import type { Logger } from '../logger';
import { outcomeWithin } from '../time-limit';
import { MAX_TIMER_MS } from '../config';

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

/** How long an upsert of the scheduler after a worker's error may take before it is tried again. */
const REASSERT_WAIT_MS = 3000;

/** How often each worker replica re-asserts the scheduler: ten ticks, between 1 s and 10 s. */
export const schedulerRefreshMs = (everyMs: number) => Math.min(Math.max(everyMs * 10, 1000), 10_000);

/**
 * How long the worker waits, after a Redis error that looks like a lost connection, before asking
 * again (BullMQ's runRetryDelay, 15 s by default): one period, at most 1 s. During a Redis Cluster
 * failover of the job queues' slot, BullMQ's 15 s held the ticks back long after the new master
 * served (10–15 s more, until the watchdog stepped in).
 */
const retryDelayMs = (everyMs: number) => Math.min(everyMs, 1000);

/**
 * The longest look at an empty queue (BullMQ's drainDelay, 5 s by default), in seconds: one period,
 * at most 5 s. A manual failover unblocks the worker's look with an error, and the marker of the next
 * tick can be lost with it: the worker then waited out the whole look before the next tick.
 */
const drainDelaySeconds = (everyMs: number) => Math.min(everyMs, 5000) / 1000;

export interface RepeatingJob {
  close(): Promise<void>;
}

/**
 * How long a tick may wait, due, with this replica's worker taking none, before the worker is taken
 * for stuck: three periods, at least 10 s. After a Redis Cluster lost a slot's master and replica and
 * got them back empty, BullMQ workers were seen idle for good with a job waiting (every admission
 * stopped, on every replica); a tick whose work never ends would stop them alike.
 */
export const stuckAfterMs = (everyMs: number) => Math.max(everyMs * 3, 10_000);

/**
 * How long a worker may take no tick at all, whatever waits, before it is started anew: thirty
 * periods, at least 30 s. A stuck worker beside another replica's working one leaves no tick
 * waiting, so only this notices it (else the replicas' redundancy would be gone unseen until the
 * working one died). A healthy worker that only lost every race meanwhile costs a new connection.
 */
export const idleAfterMs = (everyMs: number) => Math.max(everyMs * 30, 30_000);

/**
 * A BullMQ Job Scheduler plus a worker for it. The scheduler's jobs carry deterministic IDs per
 * time slot, so however many replicas upsert it and run workers, each tick runs exactly once. A
 * watchdog starts the worker (and the queue) anew, on new connections, when this worker has taken
 * nothing for stuckAfterMs and a tick has waited as long, or the queue does not answer that check
 * within half of it (a frozen Redis Cluster master, replaced by its replica, holds both connections
 * for as long as it stays frozen); or when the worker has taken nothing for idleAfterMs.
 */
export async function startRepeatingJob(options: RepeatingJobOptions): Promise<RepeatingJob> {
  // BullMQ needs retrying connections (maxRetriesPerRequest: null) and refuses ioredis keyPrefix.
  const connect = () => connectRedis(options.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true });
  const startQueue = (): QueueOnConnection => {
    const connection = connect();
    const queue = new Queue(options.name, { connection, prefix: options.prefix });
    queue.on('error', (error) => options.logger.warn({ err: error, job: options.name }, 'queue error'));
    return { queue, connection };
  };
  let lastTakenAt = Date.now();
  let closed = false;
  const startWorker = (): WorkerOnConnection => {
    const connection = connect();
    const state = { letGo: false };
    const worker = new Worker(options.name, () => unlessLetGo(options.run(), state), {
      connection,
      prefix: options.prefix,
      concurrency: 1,
      // A missed tick is simply superseded by the next one: never retry.
      maxStalledCount: 0,
      runRetryDelay: retryDelayMs(options.everyMs),
      drainDelay: drainDelaySeconds(options.everyMs),
    });
    worker.on('active', () => (lastTakenAt = Date.now()));
    worker.on('failed', (_job, error) => options.logger.warn({ err: error, job: options.name }, 'repeating job failed'));
    worker.on('error', (error) => {
      options.logger.warn({ err: error, job: options.name }, 'worker error');
      reassert();
    });
    return { worker, connection, letGo: () => (state.letGo = true) };
  };
  let current = { ...startQueue(), worker: startWorker() };
  const upsert = () =>
    current.queue.upsertJobScheduler(options.name, { every: options.everyMs }, { name: options.name, opts: { removeOnComplete: true, removeOnFail: 100, attempts: 1 } });
  // A worker's error is most often Redis failing under it, and BullMQ may then stop asking for ticks
  // while one falls due. After an error on its blocking look (a Redis Cluster failover, before the
  // replica is promoted) it looks next for 10 s, whatever drainDelay says, and the due tick's marker
  // was taken before; after an error creating the next tick ("Failed to add repeatable job for next
  // iteration") there is no next tick at all. Either way ticks resumed only on the next refresh (up
  // to 10 s after the promotion). Upserting the scheduler again until Redis takes it marks the due
  // tick (waking the worker) or creates the missing one. One upsert at a time, at most one per
  // retryDelayMs (one neither taken nor refused within REASSERT_WAIT_MS, as on a frozen node, is let
  // go); an error meanwhile asks for one more, as it may have come after the worker took the mark.
  // (The worker's error handler, set above, calls this: its events all come after this line.)
  let reasserting = false;
  let again = false;
  let reassertedAt = 0;
  const reassert = () => {
    again = true;
    if (reasserting) return;
    reasserting = true;
    void (async () => {
      while (again && !closed) {
        again = false;
        const waitMs = reassertedAt + retryDelayMs(options.everyMs) - Date.now();
        if (waitMs > 0) await sleep(waitMs, undefined, { ref: false });
        if (closed) break;
        reassertedAt = Date.now();
        if ((await outcomeWithin(upsert(), REASSERT_WAIT_MS)) !== 'fulfilled') again = true;
      }
      reasserting = false;
    })();
  };
  await upsert();
  // The scheduler lives in Redis: if Redis loses its data (FLUSHALL, failover to an empty replica)
  // ticks would stop for good. Upserting again now and then is idempotent and brings them back.
  const refresh = setInterval(() => {
    upsert().catch((error: unknown) => options.logger.warn({ err: error, job: options.name }, 'could not refresh the job scheduler'));
  }, schedulerRefreshMs(options.everyMs));
  refresh.unref();
  const stuckMs = stuckAfterMs(options.everyMs);
  const idleMs = idleAfterMs(options.everyMs);
  // A period may be long (ADMISSION_INTERVAL_MS up to MAX_TIMER_MS, the inventory check's ten times
  // that): the watchdog's delays are bounded by Node's longest, so it looks more often than it must.
  const lookEveryMs = Math.min(stuckMs / 2, MAX_TIMER_MS);
  // The queue's connection goes too: it may be stuck as the worker's is (a frozen node that is no
  // longer master, which it would wait on for ever), and the watchdog asks through it.
  const restart = (why: string, waitedMs: number) => {
    options.logger.warn({ job: options.name, waitedMs }, `${why}: starting the worker anew`);
    const stuck = current;
    current = { ...startQueue(), worker: startWorker() };
    lastTakenAt = Date.now();
    void closeWorker(stuck.worker, options);
    void closeQueue(stuck);
  };
  let checking = false;
  const watchdog = setInterval(() => {
    const idleFor = Date.now() - lastTakenAt;
    if (idleFor < stuckMs) return;
    // Whatever a check under way waits for: that wait may be the very thing stuck.
    if (idleFor >= idleMs) {
      restart('the worker took no tick for a long time while other replicas did', idleFor);
      return;
    }
    if (checking) return;
    checking = true;
    let dueAt: number | undefined;
    const checked = current;
    void outcomeWithin(
      oldestDueAt(checked.queue).then((at) => (dueAt = at)),
      lookEveryMs,
    )
      .then((outcome) => {
        // Restarted meanwhile (the idle rule): this check was about the connections gone.
        if (checked !== current || Date.now() - lastTakenAt < stuckMs) return;
        // Not answered while the worker took nothing either: both hang on the same lost node, most likely.
        if (outcome === 'late') restart('the queue did not answer while the worker took no tick', Date.now() - lastTakenAt);
        else if (dueAt !== undefined && Date.now() - dueAt >= stuckMs) restart('a tick waited with the worker taking none', Date.now() - dueAt);
      })
      .finally(() => (checking = false));
  }, lookEveryMs);
  watchdog.unref();
  return {
    async close() {
      closed = true;
      clearInterval(refresh);
      clearInterval(watchdog);
      await Promise.all([closeWorker(current.worker, options), closeQueue(current)]);
    },
  };
}

interface QueueOnConnection {
  queue: Queue;
  connection: ReturnType<typeof connectRedis>;
}

interface WorkerOnConnection {
  worker: Worker;
  connection: ReturnType<typeof connectRedis>;
  /** From now on, the tick under way (if any) never tells BullMQ its end: see unlessLetGo. */
  letGo: () => void;
}

/**
 * The tick's outcome, unless its worker has been let go meanwhile (closeWorker): then none, ever.
 * Told an outcome after its connections were cut while closing, BullMQ retries recording it with no
 * pause, for ever (Worker.retryIfFailed skips its delay while closing): a core at 100%, and the event
 * loop starved, so not even the shutdown's exit deadline fires. The job is left to its lock's
 * expiry, as a killed process's is.
 */
function unlessLetGo<T>(tick: Promise<T>, state: { letGo: boolean }): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    tick.then(
      (value) => {
        if (!state.letGo) resolve(value);
      },
      (error: unknown) => {
        if (!state.letGo) reject(error);
      },
    ),
  );
}

async function closeQueue({ queue, connection }: QueueOnConnection): Promise<void> {
  await outcomeWithin(queue.close(), CLOSE_WAIT_MS);
  connection.disconnect();
}

/** A scheduler's job ID ends with its time slot ("repeat:<scheduler>:<ms>"): when it fell due. */
const SLOT = /:(\d+)$/;

/**
 * When the longest-due job of the queue fell due (waiting, or delayed past its time), if any: its time
 * slot, not its timestamp, which each upsert of the scheduler moves to now.
 */
async function oldestDueAt(queue: Queue): Promise<number | undefined> {
  const jobs = await queue.getJobs(['wait', 'delayed'], 0, 20, true);
  const due = jobs.map((job) => Number(SLOT.exec(job.id ?? '')?.[1] ?? Number.NaN)).filter((at) => at <= Date.now());
  return due.length > 0 ? Math.min(...due) : undefined;
}

/** Closes a worker within CLOSE_WAIT_MS, or lets it go (its connection cut), and closes its connection. */
async function closeWorker({ worker, connection, letGo }: WorkerOnConnection, options: RepeatingJobOptions): Promise<void> {
  if ((await outcomeWithin(worker.close(), CLOSE_WAIT_MS)) === 'late') {
    options.logger.warn({ job: options.name }, 'the worker did not close in time (Redis away, or a tick still running?): left behind');
    letGo();
    // Left behind, it keeps trying to renew its tick's lock on the cut connection: heard by nobody
    // (an 'error' with no listener would throw). The worker object stays until the process ends.
    worker.removeAllListeners('error');
    worker.on('error', () => undefined);
    // Its own connections, stuck reconnecting, would keep retrying for ever.
    void worker.disconnect().catch(() => undefined);
  }
  connection.disconnect();
}

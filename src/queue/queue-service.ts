import type { ConcertService } from '../concerts/concert-service';
import { AppError, notFound } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import { runScript, type RedisClient, type RedisKeys } from '../redis';
import { QUEUE_ADMIT, QUEUE_ENTER, QUEUE_LEAVE, QUEUE_STATUS } from '../redis/queue-scripts';
import { dropFromWorkIndex } from '../redis/work-index';
import { QueueState, type QueueStatus } from './queue-state';
import { decodeStatusReply, toQueueStatus, type Place, type QueueFigures } from './queue-status';

export interface QueueSettings {
  activeTtlSeconds: number;
}

/** The message live feeds on every process receive: which concerts may have changed, or which fans. */
export interface TickMessage {
  concerts: number[];
  at: number;
  /** [concertId, userId] of fans who changed their own status (enter, leave, pay) since the last tick. */
  fans?: [number, number][];
}

/** At most this many are admitted per concert per tick, so one script never blocks Redis for long. */
const MAX_ADMITTED_PER_TICK = 5000;
/** Window over which the admission rate (for estimated waits) is measured. */
const RATE_WINDOW_MS = 60_000;
/** Users per status script call when refreshing many subscribers. */
const STATUS_BATCH = 5000;

/** The waiting room: entering, leaving, status, the ACTIVE gate, and the admission tick. */
export class QueueService {
  /** Concerts are never deleted, so a concert once seen to exist needs no second lookup. */
  private readonly knownConcerts = new Set<number>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly concerts: ConcertService,
    private readonly metrics: Metrics,
    private readonly settings: QueueSettings,
    private readonly logger: Logger,
  ) {}

  async enter(userId: number, concertId: number): Promise<QueueStatus> {
    await this.requireConcert(concertId);
    const k = this.keys.queue(concertId);
    // Issued together, so auto-pipelining sends them in one write (cheaper than a pipeline object per
    // request); one connection keeps their order, so the SADD runs after the script, as
    // dropFromWorkIndex relies on.
    const [reply] = await Promise.all([
      runScript(this.redis, QUEUE_ENTER, k, userId),
      this.redis.sadd(this.keys.queueIndex, concertId),
      this.tellFan(concertId, userId),
    ]);
    return this.toStatus(concertId, reply);
  }

  /** Removes the user (WAITING or ACTIVE) at once, freeing their place or slot. */
  async leave(userId: number, concertId: number): Promise<QueueStatus> {
    await this.requireConcert(concertId);
    const k = this.keys.queue(concertId);
    const [reply] = await Promise.all([runScript(this.redis, QUEUE_LEAVE, k, userId), this.tellFan(concertId, userId)]);
    return this.toStatus(concertId, reply);
  }

  /** Ends the user's ACTIVE slot (after a payment); a user who is WAITING keeps their place. */
  async endActive(userId: number, concertId: number): Promise<void> {
    await Promise.all([this.redis.zrem(this.keys.queue(concertId).active, userId), this.tellFan(concertId, userId)]);
  }

  /**
   * Tells live feeds on every replica that this fan's status changed now, rather than at the next
   * tick. Issued right after the change on the same connection, so Redis runs it after the change.
   */
  private tellFan(concertId: number, userId: number): Promise<number> {
    const message: TickMessage = { concerts: [], at: Date.now(), fans: [[concertId, userId]] };
    return this.redis.publish(this.keys.channels.queueTicks, JSON.stringify(message));
  }

  async status(userId: number, concertId: number): Promise<QueueStatus> {
    await this.requireConcert(concertId);
    const k = this.keys.queue(concertId);
    return this.toStatus(concertId, await runScript(this.redis, QUEUE_STATUS, k, userId));
  }

  /** Statuses of many users of one concert in one script call per batch (no round trip per user). */
  async statuses(concertId: number, userIds: number[]): Promise<QueueStatus[]> {
    const k = this.keys.queue(concertId);
    const batches: Promise<number[]>[] = [];
    for (let i = 0; i < userIds.length; i += STATUS_BATCH) {
      batches.push(runScript(this.redis, QUEUE_STATUS, k, ...userIds.slice(i, i + STATUS_BATCH)));
    }
    const out: QueueStatus[] = [];
    for (const reply of await Promise.all(batches)) {
      const { figures, places } = decodeStatusReply(reply);
      for (const place of places) out.push(this.node(concertId, place, figures));
    }
    return out;
  }

  /** The gate for seats and holds: NOT_ACTIVE unless the user is ACTIVE for this concert right now. */
  async requireActive(userId: number, concertId: number): Promise<void> {
    const k = this.keys.queue(concertId);
    // Judged by the status script on Redis's clock, like the expiry itself.
    const { places } = decodeStatusReply(await runScript(this.redis, QUEUE_STATUS, k, userId));
    if (places[0]?.state !== QueueState.ACTIVE) {
      throw new AppError('NOT_ACTIVE', 'You are not admitted for this concert: enter the queue and wait until your state is ACTIVE.');
    }
  }

  /**
   * One admission tick over every concert with anyone waiting or active: expire, then admit in
   * order up to capacity. The concerts' scripts are sent at once (auto-pipelining batches them per
   * node, on a single Redis or a cluster, where a pipeline could not span slots); each concert's step
   * is one atomic script, so overlapping ticks (or two workers) can never admit past capacity. A concert whose script fails
   * (corrupt keys) is logged and left out of this tick; the others are still admitted and announced.
   */
  async admitTick(): Promise<TickMessage> {
    const endTimer = this.metrics.tickDuration.startTimer();
    const ids = (await this.redis.smembers(this.keys.queueIndex)).map(Number);
    const capacities = await this.concerts.capacities(ids);
    const results = await Promise.allSettled(
      ids.map((id) => runScript(this.redis, QUEUE_ADMIT, this.keys.queue(id), capacities.get(id) ?? 0, this.settings.activeTtlSeconds * 1000, MAX_ADMITTED_PER_TICK, RATE_WINDOW_MS)),
    );
    const ticked: number[] = [];
    const empty: number[] = [];
    results.forEach((result, index) => {
      const id = ids[index] as number;
      if (result.status === 'rejected') {
        this.logger.error({ err: result.reason, concert: id }, 'admission tick failed for this concert; skipped');
        return;
      }
      ticked.push(id);
      const [admitted = 0, expired = 0, waiting = 0, active = 0] = result.value;
      this.metrics.admitted.inc(admitted);
      this.metrics.admittedPerTick.observe(admitted);
      this.metrics.expired.inc(expired);
      this.metrics.queueWaiting.set({ concert: String(id) }, waiting);
      this.metrics.queueActive.set({ concert: String(id) }, active);
      if (waiting === 0 && active === 0) empty.push(id);
    });
    await this.dropEmpty(empty);
    const message: TickMessage = { concerts: ticked, at: Date.now() };
    await this.redis.publish(this.keys.channels.queueTicks, JSON.stringify(message));
    endTimer();
    return message;
  }

  /** Removes empty concerts from the tick's index (see dropFromWorkIndex). */
  private async dropEmpty(ids: number[]): Promise<void> {
    for (const id of ids) {
      this.metrics.queueWaiting.remove({ concert: String(id) });
      this.metrics.queueActive.remove({ concert: String(id) });
      const k = this.keys.queue(id);
      await dropFromWorkIndex(this.redis, this.keys.queueIndex, id, async () => {
        const [[, waiting], [, active]] = (await this.redis.multi().zcard(k.wait).zcard(k.active).exec()) as [[null, number], [null, number]];
        return waiting + active > 0;
      });
    }
  }

  private async requireConcert(concertId: number): Promise<void> {
    if (this.knownConcerts.has(concertId)) return;
    if (!(await this.concerts.find(concertId))) throw notFound('concert');
    this.knownConcerts.add(concertId);
  }

  private toStatus(concertId: number, reply: number[]): QueueStatus {
    const { figures, places } = decodeStatusReply(reply);
    return this.node(concertId, places[0] ?? { state: QueueState.NONE }, figures);
  }

  private node(concertId: number, place: Place, figures: QueueFigures): QueueStatus {
    return toQueueStatus(concertId, place, figures, this.settings.activeTtlSeconds);
  }
}

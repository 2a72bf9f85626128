import { badInput } from '../errors';
import { runScript, watchSubscriptions, type RedisClient } from '../redis';
import { sharedNow } from '../redis/clock';
import { PUBLISH_ONCE, PUBLISH_SEAT_CHANGE, SEAT_LOG_CURSOR, SEAT_LOG_SINCE } from '../redis/pubsub-scripts';
import type { Metrics } from '../observability/metrics';
import type { Logger } from '../logger';
import { groupBySchedule, seatState, SeatStatus, type SeatInfo, type SeatState } from './seat';
import type { SeatCatalog } from './seat-catalog';
import { SeatFeed } from './seat-feed';
import { isAfter, isLater, isSeatLogCursor, SeatFollower } from './seat-follower';

/** A published seat change: the seat's new state and where it stands in its schedule's seat log. */
type SeatEvent = CustomEvent<SeatState>;

/**
 * How long a schedule's seat log keeps a change once later ones come: a cursor can be followed from
 * (seatChanged's `after`) until this long after the next change. Seconds between a map's read and its
 * subscription, or a socket's reconnect, are plenty; the log of an on-sale's few thousand changes a
 * second stays a few MB.
 */
export const SEAT_LOG_KEEP_MS = 30_000;

/**
 * How long a schedule's seat log stays after its last change: on a schedule where nothing changes, a
 * cursor can be followed this long (a fan whose laptop slept on a quiet map goes on without reading
 * it again).
 */
export const SEAT_LOG_IDLE_MS = 10 * 60_000;

/**
 * The part of the app's Redis event target (the one under yoga's pub/sub) that seat events listen
 * on. Subscribers listen on the target itself rather than through pubSub.subscribe: yoga's
 * per-subscriber Repeater throws inside the Redis message handler once 1,024 events wait unread.
 * Events are published by SeatEvents itself (JSON, as the target reads them), in order (PUBLISH_SEAT_CHANGE).
 */
export interface SeatEventTarget {
  addEventListener(topic: string, listener: (event: SeatEvent) => void): void;
  removeEventListener(topic: string, listener: (event: SeatEvent) => void): void;
}

export interface SeatChannels {
  /** keys.channels.seatChanged. */
  seatChanged(scheduleId: number): string;
  /** keys.channels.seatLog. */
  seatLog(scheduleId: number): string;
  /** keys.channels.paymentTold. */
  paymentTold(paymentId: number, scheduleId: number): string;
}

/**
 * seatChanged: one Redis channel per schedule, so every replica's subscribers hear every change, and
 * beside it the schedule's seat log, so a subscriber can start from a seat map's cursor and miss no
 * change made between its read and the subscription, nor one made while this process's subscription
 * to Redis was away (a reconnect, a Cluster's failover).
 */
export class SeatEvents {
  /** Every feed open on this process. */
  private readonly followers = new Set<SeatFollower>();
  private stopWatchingSubscriber: () => void = () => {};
  /** Losses of the subscription so far (SeatFollower.pause), and whether the last one's return is still to come. */
  private losses = 0;
  private awaitingReturn = false;

  constructor(
    private readonly target: SeatEventTarget,
    /** The event target's subscribe connection (see subscribe). */
    private readonly subscriber: RedisClient,
    private readonly publisher: RedisClient,
    private readonly channels: SeatChannels,
    private readonly catalog: SeatCatalog,
    /** seat_changed_subscribers (the feeds open on this process, so a leak shows), seat_changes_replayed_total. */
    private readonly metrics: Pick<Metrics, 'seatSubscribers' | 'seatChangesReplayed'>,
    private readonly logger: Logger,
  ) {}

  topic(scheduleId: number): string {
    return this.channels.seatChanged(scheduleId);
  }

  /**
   * Publishes the new status of these seats. Never throws: the change itself has already happened
   * (and the seat map is read from the source of truth), so a failed announcement is only logged.
   */
  async announce(seatIds: number[], status: SeatStatus): Promise<void> {
    if (seatIds.length === 0) return;
    try {
      await this.announceSeats(await this.catalog.findMany(seatIds), status);
    } catch (error) {
      this.logger.warn({ err: error, seatIds, status }, 'could not announce seat changes');
    }
  }

  /** As announce, for seats the caller has already read (no lookup); a failure is thrown, for the caller to log. */
  async announceSeats(seats: readonly SeatInfo[], status: SeatStatus): Promise<void> {
    // Issued together on one connection: sent in this order, and delivered in it.
    await Promise.all(
      seats.map((seat) =>
        runScript(this.publisher, PUBLISH_SEAT_CHANGE, { log: this.channels.seatLog(seat.scheduleId) }, SEAT_LOG_KEEP_MS, SEAT_LOG_IDLE_MS, this.topic(seat.scheduleId), JSON.stringify(seatState(seat, status))),
      ),
    );
  }

  /**
   * A payment's seats, RESERVED, told once: by whichever of its request and retries (twins) gets
   * there first within `forMs`; the others' calls publish nothing. A failure is thrown, as announceSeats'.
   */
  async announcePaid(paymentId: number, seats: readonly SeatInfo[], forMs: number): Promise<void> {
    await Promise.all(
      [...groupBySchedule(seats, (seat) => JSON.stringify(seatState(seat, SeatStatus.RESERVED)))].map(([scheduleId, messages]) =>
        runScript(this.publisher, PUBLISH_ONCE, { told: this.channels.paymentTold(paymentId, scheduleId), log: this.channels.seatLog(scheduleId) }, forMs, SEAT_LOG_KEEP_MS, SEAT_LOG_IDLE_MS, this.topic(scheduleId), ...messages),
      ),
    );
  }

  /** Where the schedule's seat log stands (a cursor for subscribe's `after`): read it before a seat map. */
  cursor(scheduleId: number): Promise<string> {
    return runScript(this.publisher, SEAT_LOG_CURSOR, { log: this.channels.seatLog(scheduleId) });
  }

  /**
   * Seats whose holds ended are AVAILABLE unless MySQL has them sold: a hold can outlive its seat's
   * sale for a moment (it is released after the commit), and a seat map must never show a sold seat
   * free. Never throws, like announce. Returns the seats MySQL has sold (undefined when it could not
   * be asked: then none is announced).
   */
  async announceFreed(seatIds: number[]): Promise<Set<number> | undefined> {
    if (seatIds.length === 0) return new Set();
    let reserved: Set<number>;
    try {
      reserved = await this.catalog.reservedAmong(seatIds);
    } catch (error) {
      this.logger.warn({ err: error, seatIds }, 'could not tell freed seats from sold ones; not announcing them');
      return undefined;
    }
    await this.announce(
      seatIds.filter((id) => !reserved.has(id)),
      SeatStatus.AVAILABLE,
    );
    return reserved;
  }

  /** Follows the subscriber connection: once it is back after a loss, every open feed catches up from the log. */
  start(): void {
    this.stopWatchingSubscriber = watchSubscriptions(this.subscriber, {
      // Live changes heard once the channels are back, before the catch-up begins, must not pass
      // those lost meanwhile: the catch-up starts from each feed's last change given before the loss.
      lost: () => {
        this.losses += 1;
        this.awaitingReturn = true;
        for (const follower of this.followers) follower.pause(this.losses);
      },
      restored: () => void this.catchUpAll(),
    });
  }

  stop(): void {
    this.stopWatchingSubscriber();
  }

  /**
   * The schedule's changes, buffered per subscriber as SeatFeed does (`seatCount` bounds it).
   * Resolves once Redis has confirmed the channel subscription, so no later change is missed; with
   * `after` (a cursor), first the log's changes since it, then the live ones the log did not have.
   * BAD_USER_INPUT for a cursor that is malformed, or older than the log keeps what came after it.
   */
  async subscribe(scheduleId: number, seatCount: number, after?: string): Promise<AsyncIterableIterator<SeatState>> {
    if (after !== undefined && !isSeatLogCursor(after)) throw badInput('after must be a seatChangesCursor, as a seat map read gives it.');
    const topic = this.topic(scheduleId);
    const listener = (event: SeatEvent) => follower.hear(event.detail);
    const feed = new SeatFeed(seatCount, () => {
      this.target.removeEventListener(topic, listener);
      this.followers.delete(follower);
      this.metrics.seatSubscribers.dec();
    });
    // Without `after`, followed from now (on Redis's clock): a catch-up replays nothing from before.
    // From a cursor, live changes wait for the log's (its first catch-up, below).
    const follower = new SeatFollower(scheduleId, feed, after ?? `${sharedNow()}-0`, after !== undefined);
    if (this.awaitingReturn) follower.pause(this.losses);
    this.followers.add(follower);
    this.metrics.seatSubscribers.inc();
    // The first listener of a topic makes the event target SUBSCRIBE; ours, queued behind it on the
    // same connection, is answered after it, so its reply means the channel is live.
    this.target.addEventListener(topic, listener);
    try {
      await this.subscriber.subscribe(topic);
      // From the feed's cursor (`after`, unless a catch-up after a return of the subscription ran first and moved it on).
      if (after !== undefined) await follower.catchUp((from) => this.replayed('cursor', this.changesSince(scheduleId, from, true)));
    } catch (error) {
      await feed.return();
      throw error;
    }
    return feed;
  }

  /**
   * After this process's subscription was away: every feed is given what its schedule's log still
   * holds after the feed's last change (one read per schedule).
   */
  private async catchUpAll(): Promise<void> {
    // The return of the latest loss: a catch-up for it lifts no pause a later loss makes.
    const loss = this.losses;
    this.awaitingReturn = false;
    if (this.followers.size === 0) return;
    // ioredis says it is back before it subscribes again: once our own SUBSCRIBE of the feeds'
    // channels is answered, they are live, and what the log lacks will be heard.
    try {
      await this.subscriber.subscribe(...new Set([...this.followers].map((follower) => this.topic(follower.scheduleId))));
    } catch (error) {
      this.logger.warn({ err: error }, 'seat feeds could not catch up after the Redis subscription came back');
      // Not left waiting for good: they go on with the live changes, as they come.
      for (const follower of this.followers) void follower.catchUp(async () => [], loss);
      return;
    }
    // Each schedule's log is read once, from its furthest-behind feed; a feed's cursor only moves on,
    // so each is given, when its turn comes, what it still lacks of that read.
    const from = new Map<number, string>();
    for (const { scheduleId, cursor } of this.followers) {
      const known = from.get(scheduleId);
      if (known === undefined || isLater(known, cursor)) from.set(scheduleId, cursor);
    }
    const reads = new Map([...from].map(([scheduleId, start]) => [scheduleId, this.changesSince(scheduleId, start, false)]));
    // A feed may await its read only after an earlier catch-up of its own: a failure must not count as unhandled meanwhile.
    for (const read of reads.values()) read.catch(() => undefined);
    const caughtUp = [...this.followers].map((follower) => {
      const read = reads.get(follower.scheduleId);
      return read && follower.catchUp(async (after) => this.replayed('reconnect', read.then((changes) => changes.filter((change) => isAfter(change, after)))), loss);
    });
    const failed = (await Promise.allSettled(caughtUp)).filter((outcome) => outcome.status === 'rejected');
    if (failed.length > 0) this.logger.warn({ err: failed[0]!.reason, feeds: failed.length }, 'seat feeds could not catch up after the Redis subscription came back');
  }

  /** The changes a feed is given from the log, counted. */
  private async replayed(from: 'cursor' | 'reconnect', changes: Promise<SeatState[]>): Promise<SeatState[]> {
    const given = await changes;
    this.metrics.seatChangesReplayed.inc({ from }, given.length);
    return given;
  }

  /**
   * The log's changes after the cursor, oldest first. Strict: BAD_USER_INPUT when some may be gone
   * (a client's cursor: it must read the map again); else what the log still has.
   */
  private async changesSince(scheduleId: number, after: string, strict: boolean): Promise<SeatState[]> {
    const entries = await runScript(this.publisher, SEAT_LOG_SINCE, { log: this.channels.seatLog(scheduleId) }, after, SEAT_LOG_KEEP_MS, SEAT_LOG_IDLE_MS, strict ? 1 : 0);
    if (entries === null) {
      throw badInput('This seatChangesCursor is too old to go on from (the seat changes after it are no longer all kept), or was never given: read the seat map again and subscribe with its cursor.');
    }
    // Each entry is [cursor, ['m', message]], as PUBLISH_SEAT_CHANGE logged it.
    return entries.map(([cursor, [, message]]) => ({ ...(JSON.parse(message!) as SeatState), seatChangesCursor: cursor }));
  }
}

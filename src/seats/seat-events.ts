import { runScript, type RedisClient } from '../redis';
import { PUBLISH_ONCE, PUBLISH_ORDERED } from '../redis/pubsub-scripts';
import type { Gauge } from 'prom-client';
import type { Logger } from '../logger';
import { seatState, SeatStatus, type SeatInfo, type SeatState } from './seat';
import type { SeatCatalog } from './seat-catalog';
import { SeatFeed } from './seat-feed';

type SeatEvent = CustomEvent<SeatState>;

/**
 * The part of the app's Redis event target (the one under yoga's pub/sub) that seat events listen
 * on. Subscribers listen on the target itself rather than through pubSub.subscribe: yoga's
 * per-subscriber Repeater throws inside the Redis message handler once 1,024 events wait unread.
 * Events are published by SeatEvents itself (JSON, as the target reads them), in order (PUBLISH_ORDERED).
 */
export interface SeatEventTarget {
  addEventListener(topic: string, listener: (event: SeatEvent) => void): void;
  removeEventListener(topic: string, listener: (event: SeatEvent) => void): void;
}

export interface SeatChannels {
  /** keys.channels.pubsub: Redis channels ignore the database index, so topics carry the key prefix and the index. */
  pubsub: string;
  /** keys.channels.publishRoute. */
  publishRoute: string;
  /** keys.channels.paymentTold. */
  paymentTold(paymentId: number): string;
}

/** seatChanged: one Redis channel per schedule, so every replica's subscribers hear every change. */
export class SeatEvents {
  constructor(
    private readonly target: SeatEventTarget,
    /** The event target's subscribe connection (see subscribe). */
    private readonly subscriber: RedisClient,
    private readonly publisher: RedisClient,
    private readonly channels: SeatChannels,
    private readonly catalog: SeatCatalog,
    /** seat_changed_subscribers: the feeds open on this process, so a leak shows in /metrics. */
    private readonly openFeeds: Gauge,
    private readonly logger: Logger,
  ) {}

  topic(scheduleId: number): string {
    return `${this.channels.pubsub}seat-changed:${scheduleId}`;
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
    const route = { route: this.channels.publishRoute };
    // Issued together on one connection: sent in this order, and delivered in it.
    await Promise.all(seats.map((seat) => runScript(this.publisher, PUBLISH_ORDERED, route, this.topic(seat.scheduleId), JSON.stringify(seatState(seat, status)))));
  }

  /**
   * A payment's seats, RESERVED, told once: by whichever of its request and retries (twins) gets
   * there first within `forMs`; the others' calls publish nothing. A failure is thrown, as announceSeats'.
   */
  async announcePaid(paymentId: number, seats: readonly SeatInfo[], forMs: number): Promise<void> {
    if (seats.length === 0) return;
    const messages = seats.flatMap((seat) => [this.topic(seat.scheduleId), JSON.stringify(seatState(seat, SeatStatus.RESERVED))]);
    await runScript(this.publisher, PUBLISH_ONCE, { told: this.channels.paymentTold(paymentId) }, forMs, ...messages);
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

  /**
   * The schedule's changes, buffered per subscriber as SeatFeed does (`seatCount` bounds it).
   * Resolves once Redis has confirmed the channel subscription, so no later change is missed.
   */
  async subscribe(scheduleId: number, seatCount: number): Promise<AsyncIterableIterator<SeatState>> {
    const topic = this.topic(scheduleId);
    const listener = (event: SeatEvent) => feed.push(event.detail);
    const feed = new SeatFeed(seatCount, () => {
      this.target.removeEventListener(topic, listener);
      this.openFeeds.dec();
    });
    this.openFeeds.inc();
    // The first listener of a topic makes the event target SUBSCRIBE; ours, queued behind it on the
    // same connection, is answered after it, so its reply means the channel is live.
    this.target.addEventListener(topic, listener);
    try {
      await this.subscriber.subscribe(topic);
    } catch (error) {
      await feed.return();
      throw error;
    }
    return feed;
  }
}

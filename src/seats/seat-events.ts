import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { toSeatNode } from '../schema/mappers';
import { SeatStatus, type SeatNode } from '../schema/types';
import type { SeatCatalog } from './seat-catalog';

/** The part of the app's pub/sub (yoga's, on the Redis event target) that seat events use. */
export interface SeatPubSub {
  publish(topic: string, payload: SeatNode): void;
  subscribe(topic: string): AsyncIterable<SeatNode>;
}

/** seatChanged: one Redis channel per schedule, so every replica's subscribers hear every change. */
export class SeatEvents {
  constructor(
    private readonly pubSub: SeatPubSub,
    /** The event target's subscribe connection (see subscribe). */
    private readonly subscriber: Redis,
    /** keys.channels.pubsub: Redis channels ignore the database index, so topics carry the key prefix. */
    private readonly topicPrefix: string,
    private readonly catalog: SeatCatalog,
    private readonly logger: Logger,
  ) {}

  topic(scheduleId: number): string {
    return `${this.topicPrefix}seat-changed:${scheduleId}`;
  }

  /**
   * Publishes the new status of these seats. Never throws: the change itself has already happened
   * (and the seat map is read from the source of truth), so a failed announcement is only logged.
   */
  async announce(seatIds: number[], status: SeatStatus): Promise<void> {
    if (seatIds.length === 0) return;
    try {
      for (const seat of await this.catalog.findMany(seatIds)) {
        const node = toSeatNode(seat, status);
        this.pubSub.publish(this.topic(node.scheduleId), node);
      }
    } catch (error) {
      this.logger.warn({ err: error, seatIds, status }, 'could not announce seat changes');
    }
  }

  /**
   * Seats whose holds ended are AVAILABLE unless MySQL has them sold: a hold can outlive its seat's
   * sale for a moment (it is released after the commit), and a seat map must never show a sold seat
   * free. Never throws, like announce.
   */
  async announceFreed(seatIds: number[]): Promise<void> {
    if (seatIds.length === 0) return;
    let reserved: Set<number>;
    try {
      reserved = await this.catalog.reservedAmong(seatIds);
    } catch (error) {
      this.logger.warn({ err: error, seatIds }, 'could not tell freed seats from sold ones; not announcing them');
      return;
    }
    await this.announce(
      seatIds.filter((id) => !reserved.has(id)),
      SeatStatus.AVAILABLE,
    );
  }

  /** Resolves once Redis has confirmed the channel subscription, so no later change is missed. */
  async subscribe(scheduleId: number): Promise<AsyncIterable<SeatNode>> {
    const topic = this.topic(scheduleId);
    const iterator = this.pubSub.subscribe(topic)[Symbol.asyncIterator]();
    // The event target subscribes lazily, on the first next(): start it now, then wait for a
    // SUBSCRIBE queued behind the target's own on the same connection; its reply means the channel is live.
    let first: Promise<IteratorResult<SeatNode>> | undefined = iterator.next();
    try {
      await this.subscriber.subscribe(topic);
    } catch (error) {
      await iterator.return?.();
      throw error;
    }
    const started: AsyncIterator<SeatNode> = {
      next: () => {
        const next = first ?? iterator.next();
        first = undefined;
        return next;
      },
      return: async (value?: unknown) => (await iterator.return?.(value)) ?? { done: true, value: undefined },
    };
    return { [Symbol.asyncIterator]: () => started };
  }
}

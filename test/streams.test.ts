import { describe, expect, it, vi } from 'vitest';
import { ActiveGate } from '../src/queue/active-gate';
import { LatestValueStream } from '../src/queue/latest-value-stream';
import { QueueState, type QueueStatus } from '../src/queue/queue-state';
import { SeatStatus, type SeatState } from '../src/seats/seat';
import { SeatFeed } from '../src/seats/seat-feed';
import { Interruptible } from '../src/streams/interruptible';

const seat = (id: number, status: SeatStatus): SeatState => ({ id, scheduleId: 1, number: id, price: 100, status });
const take = async <T>(stream: AsyncIterator<T>, count: number): Promise<T[]> => {
  const values: T[] = [];
  for (let i = 0; i < count; i++) values.push((await stream.next()).value as T);
  return values;
};

describe('LatestValueStream (a status subscription)', () => {
  it('hands a waiting reader the value at once, and a slow one only the newest', async () => {
    const stream = new LatestValueStream<number>();
    const waiting = stream.next();
    stream.push(1);
    expect(await waiting).toEqual({ value: 1, done: false });
    stream.push(2);
    stream.push(3);
    expect(await stream.next()).toEqual({ value: 3, done: false });
  });

  it('once returned, tells a waiting reader it is done, takes no more and closes once', async () => {
    let closes = 0;
    const stream = new (class extends LatestValueStream<string> {
      protected override onClose(): void {
        closes++;
      }
    })();
    const waiting = stream.next();
    await stream.return();
    await stream.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    stream.push('late');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(closes).toBe(1);
  });
});

describe('SeatFeed (a seatChanged subscription)', () => {
  it("keeps a slow reader's unread changes one per seat, newest wins, in the order of each seat's latest change", async () => {
    const feed = new SeatFeed(10, () => undefined);
    feed.push(seat(1, SeatStatus.HELD));
    feed.push(seat(2, SeatStatus.HELD));
    feed.push(seat(1, SeatStatus.AVAILABLE));
    expect((await take(feed, 2)).map((s) => [s.id, s.status])).toEqual([
      [2, SeatStatus.HELD],
      [1, SeatStatus.AVAILABLE],
    ]);
  });

  it('ends (and tells its owner once) when more seats are pending than the schedule has, and on return', async () => {
    let closes = 0;
    const feed = new SeatFeed(2, () => closes++);
    for (const id of [1, 2, 3]) feed.push(seat(id, SeatStatus.HELD));
    expect(await feed.next()).toEqual({ value: undefined, done: true });
    expect(closes).toBe(1);

    const returned = new SeatFeed(2, () => closes++);
    await returned.return();
    await returned.return();
    expect(closes).toBe(2);
  });
});

describe('Interruptible (a subscription that something else may end)', () => {
  /** Counts its closes, as SessionBound and ActiveGate unregister themselves there. */
  class Counted<T> extends Interruptible<T> {
    closes = 0;
    protected override onClose(): void {
      this.closes += 1;
    }
  }

  async function* twoThenDone() {
    yield 1;
    yield 2;
  }

  async function* failing() {
    yield 1;
    throw new Error('the source failed');
  }

  it('closes once when its source ends by itself, without anyone calling return()', async () => {
    const stream = new Counted(twoThenDone());
    const seen: number[] = [];
    for await (const value of { [Symbol.asyncIterator]: () => ({ next: () => stream.next() }) }) seen.push(value);
    expect(seen).toEqual([1, 2]);
    expect(stream.closes).toBe(1);
    await stream.return();
    expect(stream.closes).toBe(1);
  });

  it('closes once when its source fails, and passes the failure on', async () => {
    const stream = new Counted(failing());
    expect(await stream.next()).toEqual({ done: false, value: 1 });
    await expect(stream.next()).rejects.toThrow('the source failed');
    expect(stream.closes).toBe(1);
  });

  it('closes once when interrupted, and rejects the reader with the reason', async () => {
    const stream = new Counted(twoThenDone());
    stream.interrupt(new Error('session expired'));
    await expect(stream.next()).rejects.toThrow('session expired');
    expect(stream.closes).toBe(1);
  });
});

describe('ActiveGate (a seatChanged subscription that needs ACTIVE)', () => {
  const status = (state: QueueState): QueueStatus => ({ concertId: 1, state, position: null, waiting: 0, active: 0, estimatedWaitSeconds: null, activeUntil: null, salesOpenAt: null, seatsLeft: 0 });

  it('ends with NOT_ACTIVE a moment after the slot ends, once a slow reader has read the changes that came before', async () => {
    let ended = 0;
    const feed = new SeatFeed(10, () => undefined);
    const gate = new ActiveGate(7, 1, feed, () => ended++);
    gate.update(status(QueueState.ACTIVE));
    // A payment's seats, announced as it ends the slot, unread by a slow socket; then the slot's end.
    feed.push(seat(1, SeatStatus.RESERVED));
    feed.push(seat(2, SeatStatus.RESERVED));
    gate.update(status(QueueState.NONE));
    // Still open for a moment: news that travelled apart from the slot's end may still come.
    feed.push(seat(3, SeatStatus.HELD));
    expect(gate.interrupted).toBe(false);
    await vi.waitFor(() => expect(gate.interrupted).toBe(true), { timeout: 3000, interval: 20 });
    expect(ended).toBe(1);
    expect((await take(gate, 3)).map((s) => [s.id, s.status])).toEqual([
      [1, SeatStatus.RESERVED],
      [2, SeatStatus.RESERVED],
      [3, SeatStatus.HELD],
    ]);
    await expect(gate.next()).rejects.toMatchObject({ code: 'NOT_ACTIVE' });
  });
});

import { describe, expect, it } from 'vitest';
import { LatestValueStream } from '../src/queue/latest-value-stream';
import { SeatStatus, type SeatState } from '../src/seats/seat';
import { SeatFeed } from '../src/seats/seat-feed';

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

  it('ends after the finishing value, and once returned takes no more', async () => {
    let closes = 0;
    const stream = new (class extends LatestValueStream<string> {
      protected override onClose(): void {
        closes++;
      }
    })();
    stream.push('stale');
    stream.finish('SOLD_OUT');
    stream.push('after');
    expect(await stream.next()).toEqual({ value: 'SOLD_OUT', done: false });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(closes).toBe(1);

    const other = new LatestValueStream<string>();
    const waiting = other.next();
    await other.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    other.push('late');
    expect(await other.next()).toEqual({ value: undefined, done: true });
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

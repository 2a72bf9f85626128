import { describe, expect, it } from 'vitest';
import { SeatStatus, type SeatState } from '../src/seats/seat';
import type { SeatFeed } from '../src/seats/seat-feed';
import { isSeatLogCursor, SeatFollower } from '../src/seats/seat-follower';

/** A seat's change at a seat log cursor. */
const change = (seat: number, cursor: string, status = SeatStatus.HELD): SeatState => ({ id: seat, scheduleId: 1, number: seat, price: 100, status, seatChangesCursor: cursor });

/** A follower whose feed records what it is given, as "seat@cursor". */
function follower(cursor = '100-0', catchUpFirst = false) {
  const given: string[] = [];
  const feed = { push: (state: SeatState) => given.push(`${state.id}@${state.seatChangesCursor}`) } as unknown as SeatFeed;
  return { follower: new SeatFollower(1, feed, cursor, catchUpFirst), given };
}

describe('a seat feed following its schedule (SeatFollower)', () => {
  it('holds live changes from a loss of the subscription until the catch-up of that loss’s return, not of an earlier one', async () => {
    const { follower: f, given } = follower();
    f.pause(1);
    f.hear(change(3, '103-0'));
    // Lost again before the first return's catch-up ran: it gives what the log has, and holds the rest.
    f.pause(2);
    await f.catchUp(async () => [change(1, '101-0')], 1);
    expect(given).toEqual(['1@101-0']);
    f.hear(change(4, '104-0'));
    // Another catch-up (a feed's own, from its cursor) gives the log's changes; live ones wait still.
    const log = [change(1, '101-0'), change(2, '102-0'), change(3, '103-0')];
    await f.catchUp(async (after) => log.filter((c) => c.seatChangesCursor! > after));
    expect(given).toEqual(['1@101-0', '2@102-0', '3@103-0']);
    // The second return's catch-up, from the last change given: then the live ones the log lacked, once.
    await f.catchUp(async (after) => log.filter((c) => c.seatChangesCursor! > after), 2);
    expect(given).toEqual(['1@101-0', '2@102-0', '3@103-0', '4@104-0']);
    // Live again.
    f.hear(change(5, '105-0'));
    expect(given.at(-1)).toBe('5@105-0');
  });

  it('keeps only the newest change of each seat while it holds them, in the order of their last', async () => {
    const { follower: f, given } = follower();
    f.pause(1);
    f.hear(change(1, '101-0'));
    f.hear(change(2, '102-0'));
    f.hear(change(1, '103-0', SeatStatus.AVAILABLE));
    await f.catchUp(async () => [], 1);
    expect(given).toEqual(['2@102-0', '1@103-0']);
  });

  it('from a cursor, gives a live change heard before its first catch-up once, after the log’s', async () => {
    const { follower: f, given } = follower('100-0', true);
    f.hear(change(2, '102-0'));
    await f.catchUp(async () => [change(1, '101-0'), change(2, '102-0')]);
    f.hear(change(3, '103-0'));
    expect(given).toEqual(['1@101-0', '2@102-0', '3@103-0']);
  });
});

describe('isSeatLogCursor', () => {
  it('takes the stream IDs Redis takes: a sequence up to 2^64 − 1', () => {
    expect(isSeatLogCursor('1796567788729-0')).toBe(true);
    expect(isSeatLogCursor('1796567788729-18446744073709551615')).toBe(true);
    expect(isSeatLogCursor('1796567788729-18446744073709551616')).toBe(false);
    expect(isSeatLogCursor('1796567788729-99999999999999999999')).toBe(false);
    for (const malformed of ['', '12-', '-1', 'yesterday', '1-2-3', '1796567788729-1 ']) expect(isSeatLogCursor(malformed), malformed).toBe(false);
  });
});

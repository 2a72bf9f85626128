import { describe, expect, it } from 'vitest';
import { MAX_ADMITTED_PER_TICK, toQueueStatus, type QueueFigures } from '../src/queue/queue-status';
import { QueueState } from '../src/queue/queue-state';

const PACE = { activeTtlSeconds: 900, admissionIntervalMs: 1000 };
const figures = (over: Partial<QueueFigures>): QueueFigures => ({
  waiting: 10,
  active: 0,
  ratePerMinute: -1,
  capacity: 50,
  salesOpensAt: -1,
  seatsLeft: 100,
  soldOut: false,
  logEpoch: 1,
  logSeq: 0,
  logAt: '',
  ...over,
});
const waitAt = (position: number, over: Partial<QueueFigures>) =>
  toQueueStatus(1, { state: QueueState.WAITING, position }, figures(over), PACE, 50).estimatedWaitSeconds;

describe('estimated wait', () => {
  it('is the next tick for a fan a free ACTIVE slot awaits, while seats are left', () => {
    expect(waitAt(1, { active: 0 })).toBe(1);
    expect(waitAt(50, { active: 0 })).toBe(1);
    expect(waitAt(2, { active: 48 })).toBe(1);
  });

  it('is as many ticks as the free slots ahead take at MAX_ADMITTED_PER_TICK each', () => {
    const big = { capacity: 20_000, active: 0 };
    const at = (position: number) => toQueueStatus(1, { state: QueueState.WAITING, position }, figures(big), PACE, 20_000).estimatedWaitSeconds;
    expect(at(MAX_ADMITTED_PER_TICK)).toBe(1);
    expect(at(MAX_ADMITTED_PER_TICK + 1)).toBe(2);
    expect(at(3 * MAX_ADMITTED_PER_TICK)).toBe(3);
  });

  it('counts only the places behind the free slots, at the slowest pace before a rate is measured', () => {
    // 2 slots free: the 3rd in line is the first behind them, a turn per ACTIVE_TTL ÷ capacity.
    expect(waitAt(3, { active: 48 })).toBe(Math.ceil(900 / 50));
    expect(waitAt(1, { active: 50 })).toBe(Math.ceil(900 / 50));
    expect(waitAt(100, { active: 50 })).toBe(Math.ceil((100 * 900) / 50));
  });

  it('counts them at the measured pace once there is one', () => {
    expect(waitAt(30, { active: 40, ratePerMinute: 120 })).toBe(Math.ceil((20 * 60) / 120));
  });

  it('gives no free slot while every seat is held: admission waits for a seat', () => {
    expect(waitAt(1, { active: 0, seatsLeft: 0 })).toBe(Math.ceil(900 / 50));
  });
  it('counts no free slot, and no negative one, while more are ACTIVE than a lowered capacity: the wait is that of a full line', () => {
    expect(waitAt(1, { capacity: 10, active: 30 })).toBe(waitAt(1, { capacity: 10, active: 10 }));
    expect(waitAt(1, { capacity: 10, active: 30 })).toBe(Math.ceil(900 / 10));
    expect(waitAt(5, { capacity: 10, active: 30, ratePerMinute: 60 })).toBe(5);
  });
});

describe('state out of line', () => {
  const stateOf = (place: Parameters<typeof toQueueStatus>[1], soldOut: boolean) => toQueueStatus(1, place, figures({ soldOut }), PACE, 50).state;

  it('is SOLD_OUT while the concert is sold out and NONE once it sells again, whichever the place was read as', () => {
    for (const place of [{ state: QueueState.NONE }, { state: QueueState.SOLD_OUT }] as const) {
      expect(stateOf(place, true)).toBe(QueueState.SOLD_OUT);
      expect(stateOf(place, false)).toBe(QueueState.NONE);
    }
    expect(stateOf({ state: QueueState.ACTIVE, activeUntil: Date.now() + 1000 }, true)).toBe(QueueState.ACTIVE);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { announceInBackground, Backlog, retryInBackground } from '../src/background-retry';

/** An attempt that fails its first `failures` tries, then goes through; counts every try. */
function attempt(failures: number) {
  const tries = { count: 0 };
  const run = async () => {
    tries.count++;
    if (tries.count <= failures) throw new Error('Redis is away');
  };
  return { tries, run };
}

describe('background retries (timers under the test’s control)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('tries after 0.5 s, then twice as long each time, until it goes through', async () => {
    const { tries, run } = attempt(2);
    const giveUp = vi.fn();
    retryInBackground(run, giveUp);
    await vi.advanceTimersByTimeAsync(499);
    expect(tries.count).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(tries.count).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(tries.count).toBe(2);
    await vi.advanceTimersByTimeAsync(2000);
    expect(tries.count).toBe(3);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(tries.count).toBe(3);
    expect(giveUp).not.toHaveBeenCalled();
  });

  it('gives up after about a minute of failures, and says so once', async () => {
    const { tries, run } = attempt(Infinity);
    const giveUp = vi.fn();
    retryInBackground(run, giveUp);
    await vi.advanceTimersByTimeAsync(63_000);
    expect(tries.count).toBe(6);
    expect(giveUp).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(500);
    expect(tries.count).toBe(7);
    expect(giveUp).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(tries.count).toBe(7);
    expect(giveUp).toHaveBeenCalledTimes(1);
  });

  it('makes a seat announcement that went through once more 3 s later, for subscribers not yet back', async () => {
    const { tries, run } = attempt(1);
    announceInBackground(run, () => undefined);
    await vi.advanceTimersByTimeAsync(1500);
    expect(tries.count).toBe(2);
    await vi.advanceTimersByTimeAsync(2999);
    expect(tries.count).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(tries.count).toBe(3);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(tries.count).toBe(3);
  });

  it('a backlog does its items once each, however long the dependency is away: waits double from 0.5 s up to 30 s, never given up', async () => {
    const done: number[][] = [];
    const tried: number[][] = [];
    let away = true;
    const backlog = new Backlog<number>(async (items) => {
      tried.push(items);
      if (away) throw new Error('MySQL is away');
      done.push(items);
    });
    backlog.add([1, 2]);
    backlog.add([2, 3]);
    // Ten minutes of failures: 0.5 + 1 + 2 + 4 + 8 + 16 s, then every 30 s (about 25 tries); still kept.
    await vi.advanceTimersByTimeAsync(600_000);
    expect(tried.length).toBeGreaterThanOrEqual(20);
    expect(tried.at(-1)).toEqual([1, 2, 3]);
    away = false;
    // The next try is at most 30 s away; all three at once, each once.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(done).toEqual([[1, 2, 3]]);
    // Done is forgotten: a new item starts again from the first wait, alone.
    backlog.add([4]);
    await vi.advanceTimersByTimeAsync(500);
    expect(done).toEqual([[1, 2, 3], [4]]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(done).toHaveLength(2);
  });

  it('a backlog keeps an item added while an attempt runs for its next attempt: the attempt that goes through clears only what it was given', async () => {
    const done: number[][] = [];
    let release: () => void = () => undefined;
    const backlog = new Backlog<number>(async (items) => {
      // The first attempt takes a while: an item is added meanwhile.
      if (done.length === 0) await new Promise<void>((resolve) => (release = resolve));
      done.push(items);
    });
    backlog.add([1]);
    await vi.advanceTimersByTimeAsync(500);
    backlog.add([2]);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toEqual([[1]]);
    await vi.advanceTimersByTimeAsync(500);
    expect(done).toEqual([[1], [2]]);
  });
});


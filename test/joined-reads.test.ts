import { describe, expect, it } from 'vitest';
import { JoinedReads } from '../src/caching/joined-reads';

/** A read whose answer the test gives when it likes; `calls` lists the keys of each read made. */
function controlledReads() {
  const calls: number[][] = [];
  const pending: ((rows: (string | undefined)[]) => void)[] = [];
  const fail: ((error: Error) => void)[] = [];
  const reads = new JoinedReads<number, string>(
    (keys) =>
      new Promise((resolve, reject) => {
        calls.push(keys);
        pending.push(resolve);
        fail.push(reject);
      }),
  );
  return { reads, calls, answer: (i: number, rows: (string | undefined)[]) => pending[i]!(rows), failRead: (i: number) => fail[i]!(new Error('lost')) };
}

describe('JoinedReads', () => {
  it('joins a read under way for the same keys, reads only the others, and keeps nothing once answered', async () => {
    const { reads, calls, answer } = controlledReads();
    const first = reads.load([1, 2]);
    const second = reads.load([2, 3, 3]);
    expect(calls).toEqual([[1, 2], [3]]);
    answer(0, ['one', undefined]);
    answer(1, ['three']);
    expect(await first).toEqual(['one', undefined]);
    expect(await second).toEqual([undefined, 'three', 'three']);
    // Answered: the next caller reads afresh.
    void reads.load([1]);
    expect(calls).toEqual([[1, 2], [3], [1]]);
  });

  it('fails every caller of a failed read, and reads again for the next', async () => {
    const { reads, calls, failRead } = controlledReads();
    const first = reads.load([7]);
    const joined = reads.load([7]);
    failRead(0);
    await expect(first).rejects.toThrow('lost');
    await expect(joined).rejects.toThrow('lost');
    void reads.load([7]);
    expect(calls).toEqual([[7], [7]]);
  });

  it('reads afresh after forget (a change of the row) rather than join a read that may predate it, and the older read does not drop the newer', async () => {
    const { reads, calls, answer } = controlledReads();
    const before = reads.load([5]);
    reads.forget(5);
    const after = reads.load([5]);
    expect(calls).toEqual([[5], [5]]);
    answer(0, ['old']);
    expect(await before).toEqual(['old']);
    // The newer read is still the one a caller joins.
    const joiner = reads.load([5]);
    expect(calls).toHaveLength(2);
    answer(1, ['new']);
    expect(await after).toEqual(['new']);
    expect(await joiner).toEqual(['new']);
  });
});

import { describe, expect, it } from 'vitest';
import { FreshReads } from '../src/caching/fresh-reads';

/** A read whose answer the test gives: each call is logged with what was true when it began. */
function controlledReads() {
  let world = 0;
  const begun: { key: string; world: number; answer: (value: string) => void; fail: (error: Error) => void }[] = [];
  const reads = new FreshReads<string, string>(
    (key) =>
      new Promise((answer, fail) => {
        begun.push({ key, world, answer, fail });
      }),
  );
  /** Answers the oldest unanswered read of `key` with what it saw (or fails it with `error`). */
  const finish = async (key: string, error?: Error) => {
    const read = begun.find((r) => r.key === key && r.world >= 0);
    if (!read) throw new Error(`no read of ${key} running`);
    if (error) read.fail(error);
    else read.answer(`${key}@${read.world}`);
    read.world = -1;
    // The next read, if any, begins once the answered one has settled.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { reads, begun, finish, change: () => world++ };
}

describe('FreshReads (seat maps read once for the fans asking together)', () => {
  it('gives callers who ask while a read runs the next read, begun after they asked, never the running one', async () => {
    const { reads, begun, finish, change } = controlledReads();
    const first = reads.get('map');
    // A change (a fan's hold) answered after the first read began, then ten fans ask.
    change();
    const later = Array.from({ length: 10 }, () => reads.get('map'));
    expect(begun).toHaveLength(1);
    await finish('map');
    expect(await first).toBe('map@0');
    // One more read for all ten, begun after the change.
    expect(begun).toHaveLength(2);
    await finish('map');
    expect(await Promise.all(later)).toEqual(Array(10).fill('map@1'));
  });

  it('starts at once when no read of the key runs, and keys do not wait for each other', async () => {
    const { reads, begun, finish } = controlledReads();
    const a = reads.get('a');
    const b = reads.get('b');
    expect(begun.map((r) => r.key)).toEqual(['a', 'b']);
    await finish('b');
    expect(await b).toBe('b@0');
    await finish('a');
    expect(await a).toBe('a@0');
    // Nothing running any more: the next caller reads at once.
    const again = reads.get('a');
    expect(begun).toHaveLength(3);
    await finish('a');
    expect(await again).toBe('a@0');
  });

  it('fails the callers who shared a failed read, and the next caller reads anew', async () => {
    const { reads, begun, finish } = controlledReads();
    const first = reads.get('map');
    const sharing = Promise.allSettled([reads.get('map'), reads.get('map')]);
    await finish('map');
    await first;
    await finish('map', new Error('MySQL went away'));
    expect((await sharing).map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as Error).message : outcome.value))).toEqual(['MySQL went away', 'MySQL went away']);
    const retry = reads.get('map');
    expect(begun).toHaveLength(3);
    await finish('map');
    expect(await retry).toBe('map@0');
  });
});

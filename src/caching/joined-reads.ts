/**
 * Rows read by key, where a read of the same key already under way is joined rather than repeated:
 * a seat change pushed to a thousand seatChanged subscribers, each naming the seat's schedule and
 * concert, reads each row once, not once per subscriber. Nothing is kept once a read has answered
 * (the next caller reads afresh). A read joined may have started a moment before the caller asked:
 * after changing a row, its writer forgets the read under way, so that what follows the change on
 * this process reads it.
 */
export class JoinedReads<K, V> {
  private readonly underWay = new Map<K, Promise<V | undefined>>();

  /** `read` gets the keys no read is under way for, and answers in their order (undefined where none). */
  constructor(private readonly read: (keys: K[]) => Promise<(V | undefined)[]>) {}

  /** Callers from now on read `key` afresh rather than join a read that may predate a change of it. */
  forget(key: K): void {
    this.underWay.delete(key);
  }

  /** The rows in the order asked (undefined where none): one `read` for the keys nobody is reading. */
  async load(keys: readonly K[]): Promise<(V | undefined)[]> {
    const missing = [...new Set(keys)].filter((key) => !this.underWay.has(key));
    if (missing.length > 0) {
      const reading = this.read(missing);
      missing.forEach((key, i) => {
        const row = reading.then((rows) => rows[i]);
        this.underWay.set(key, row);
        // Forgotten once answered (or failed: the next caller tries again), unless a newer read took its place.
        const done = () => {
          if (this.underWay.get(key) === row) this.underWay.delete(key);
        };
        void row.then(done, done);
      });
    }
    return await Promise.all(keys.map((key) => this.underWay.get(key) as Promise<V | undefined>));
  }
}

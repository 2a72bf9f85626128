/**
 * Reads by key, shared by the callers who ask while one is running: they wait for the next read,
 * begun once the running one ends, and share it. Every caller gets a read begun after it asked, so it
 * sees every change made before it asked (a fan's own hold, answered just before), while any number
 * of callers asking at once cost at most two reads in flight, not one each. A failed read fails the
 * callers who shared it, and the next caller reads anew. Unlike JoinedReads, whose callers join the
 * read under way (it may predate a change they made), for data that changes all the time: seat maps.
 */
export class FreshReads<K, V> {
  /** The read running now, per key. */
  private readonly running = new Map<K, Promise<V>>();
  /** The read that follows it, shared by everyone who asked meanwhile. */
  private readonly next = new Map<K, Promise<V>>();

  constructor(private readonly read: (key: K) => Promise<V>) {}

  get(key: K): Promise<V> {
    const queued = this.next.get(key);
    if (queued) return queued;
    const current = this.running.get(key);
    if (!current) return this.start(key);
    const settled = () => {
      this.next.delete(key);
      return this.start(key);
    };
    const following = current.then(settled, settled);
    this.next.set(key, following);
    return following;
  }

  private start(key: K): Promise<V> {
    const reading = this.read(key).finally(() => {
      if (this.running.get(key) === reading) this.running.delete(key);
    });
    this.running.set(key, reading);
    return reading;
  }
}

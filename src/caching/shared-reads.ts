/**
 * Reads under way, by key. A caller that misses a cache while a read of the same key is under way
 * waits for that read instead of starting its own: when thousands of fans (re)connect to a replica
 * at once, each key is read once, not once per fan (which queued them all on the MySQL pool until
 * its acquire timeout failed them). What was read goes wherever `read` puts it; a failed read fails
 * every caller that waited for it, and the next miss reads again.
 */
export class SharedReads<K> {
  private readonly underWay = new Map<K, Promise<unknown>>();

  /** Resolves once every key has been read: by reads already under way, and by one `read` call for the others. */
  async await(keys: readonly K[], read: (missing: K[]) => Promise<unknown>): Promise<void> {
    const missing = [...new Set(keys)].filter((key) => !this.underWay.has(key));
    if (missing.length > 0) {
      const reading = read(missing).finally(() => {
        for (const key of missing) this.underWay.delete(key);
      });
      for (const key of missing) this.underWay.set(key, reading);
    }
    await Promise.all(keys.map((key) => this.underWay.get(key)));
  }
}

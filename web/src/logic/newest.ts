/**
 * Two sources of the same state, per key: a live feed, newest whenever it speaks, and the answers to
 * the fan's own requests, which the feed hears about too. An answer is applied only if the feed said
 * nothing about its key while the request was out; otherwise the answer is older than what the feed
 * said (an admission pushed before the enter answer came back; a rival's hold pushed before the
 * answer to our release). Pure, unit-tested.
 */
export class NewestSource<K> {
  private heard = 0;
  private readonly lastHeard = new Map<K, number>();

  /** The feed delivered a change of `key`. */
  live(key: K): void {
    this.heard += 1;
    this.lastHeard.set(key, this.heard);
  }

  /** A request goes out: give what this returns to `answerIsNewest` when its answer comes back. */
  send(): number {
    return this.heard;
  }

  answerIsNewest(key: K, sent: number): boolean {
    return (this.lastHeard.get(key) ?? 0) <= sent;
  }
}

/**
 * Two sources of the same state, per key: a live feed, newest whenever it speaks, and the answers to
 * the fan's own requests, which the feed hears about too. An answer is taken only if nothing newer
 * was shown for its key since its request went out: no push from the feed (an admission pushed
 * before the enter answer came back; a rival's hold pushed before the answer to our release), and no
 * answer to a later request (a status check sent before a leave, answered after it). Pure, unit-tested.
 */
export class NewestSource<K> {
  private clock = 0;
  /** Per key, when what is shown happened: a push from the feed, or the sending of the request whose answer was taken. */
  private readonly shown = new Map<K, number>();

  /** The feed delivered a change of `key`. */
  live(key: K): void {
    this.shown.set(key, ++this.clock);
  }

  /** A request goes out: give what this returns to `takeAnswer` when its answer comes back. */
  send(): number {
    return ++this.clock;
  }

  /** Whether the answer to the request sent at `sent` is newer than what is shown of `key`; if so, it is what is shown now. */
  takeAnswer(key: K, sent: number): boolean {
    if ((this.shown.get(key) ?? 0) > sent) return false;
    this.shown.set(key, sent);
    return true;
  }
}

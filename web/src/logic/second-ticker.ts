/**
 * One clock for every countdown on the page, ticking on the clock's second (a useSyncExternalStore
 * store: `subscribe`, `get`). With a timer per countdown, each read the time at its own point of the
 * second, and two countdowns to the same moment (the badge by the title, the waiting room's) showed a
 * second apart. Pure but for its timer, unit-tested.
 */
export class SecondTicker {
  private now: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly clock: () => number) {
    this.now = clock();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    if (!this.timer) {
      this.now = this.clock();
      this.schedule();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0) return;
      clearTimeout(this.timer);
      this.timer = undefined;
    };
  };

  /**
   * The time as of the last tick. While nobody counts down the ticker stands still, so a countdown
   * that mounts then must not start from that old tick (a turn seen first with a minute left more
   * than it has would be warned of its last minute at once): it gets the time now, kept for the
   * second, as React asks for one value until it changes.
   */
  get = (): number => {
    if (!this.timer && this.clock() - this.now >= 1000) this.now = this.clock();
    return this.now;
  };

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.now = this.clock();
      for (const listener of this.listeners) listener();
      this.schedule();
    }, 1000 - (this.clock() % 1000));
  }
}

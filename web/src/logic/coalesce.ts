/**
 * Runs an action for a burst of calls (a seat map that changes often) once per `ms`, not once each:
 * `soon` runs it `ms` after the first call since it last ran; `now` runs it at once (something the fan
 * is waiting on), and the calls to `soon` during the `ms` after it run it once at their end; `urgent`
 * runs it at once unless it ran within the last `ms` (then as `soon`), so urgent calls too run it at
 * most once per `ms`. Pure, unit-tested.
 */
export class Coalescer {
  private holdOff: ReturnType<typeof setTimeout> | undefined;
  private calledMeanwhile = false;
  private lastRunAt: number | undefined;

  constructor(
    private readonly action: () => void,
    private readonly ms: number,
  ) {}

  soon(): void {
    this.calledMeanwhile = true;
    this.holdOff ??= setTimeout(() => this.end(), this.ms);
  }

  now(): void {
    this.cancel();
    this.run();
    this.holdOff = setTimeout(() => this.end(), this.ms);
  }

  urgent(): void {
    if (this.lastRunAt !== undefined && Date.now() - this.lastRunAt < this.ms) this.soon();
    else this.now();
  }

  /** Drops the hold-off and the run waiting for its end: the next call starts afresh (after a remount too). */
  cancel(): void {
    clearTimeout(this.holdOff);
    this.holdOff = undefined;
    this.calledMeanwhile = false;
  }

  private end(): void {
    this.holdOff = undefined;
    if (!this.calledMeanwhile) return;
    this.calledMeanwhile = false;
    this.run();
  }

  private run(): void {
    this.lastRunAt = Date.now();
    this.action();
  }
}

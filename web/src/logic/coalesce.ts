/**
 * Runs an action for a burst of calls (a seat map that changes often) once per `ms`, not once each:
 * `soon` runs it `ms` after the first call since it last ran; `now` runs it at once (something the fan
 * is waiting on), and the calls to `soon` during the `ms` after it run it once at their end. Pure,
 * unit-tested.
 */
export class Coalescer {
  private holdOff: ReturnType<typeof setTimeout> | undefined;
  private calledMeanwhile = false;

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
    this.action();
    this.holdOff = setTimeout(() => this.end(), this.ms);
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
    this.action();
  }
}

import { CoalescingStream } from '../streams/coalescing-stream';

/**
 * An async iterator that keeps only the newest unread value: what a status subscription needs.
 * A slow reader skips stale statuses instead of queueing them, and each subscription costs a few
 * fields rather than a general-purpose channel (this object exists once per open subscription).
 */
export class LatestValueStream<T> extends CoalescingStream<T> {
  private pending: { value: T } | undefined;

  protected keep(value: T): void {
    this.pending = { value };
  }

  protected take(): { value: T } | undefined {
    const pending = this.pending;
    this.pending = undefined;
    return pending;
  }

  protected forget(): void {
    this.pending = undefined;
  }
}

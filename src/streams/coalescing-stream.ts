/**
 * An async iterator over pushed values, for a subscription whose reader may fall behind: a value
 * pushed while the reader waits goes straight to it; otherwise the subclass keeps it unread, and
 * decides how unread values coalesce (keep, take, forget). A class, not closures: one exists per
 * open subscription, and the subclasses add only what they keep.
 */
export abstract class CoalescingStream<T> implements AsyncIterableIterator<T> {
  private reader: ((result: IteratorResult<T>) => void) | undefined;
  protected closed = false;

  /** Keeps a value the reader has not asked for yet. */
  protected abstract keep(value: T): void;

  /** The next unread value, removed; undefined when there is none. */
  protected abstract take(): { value: T } | undefined;

  /** Drops every unread value (the stream closed). */
  protected abstract forget(): void;

  /** Runs once, when the stream closes. */
  protected onClose(): void {}

  push(value: T): void {
    if (this.closed) return;
    const reader = this.reader;
    if (reader) {
      this.reader = undefined;
      reader({ value, done: false });
    } else {
      this.keep(value);
    }
  }

  /** The next unread value, removed, without waiting; undefined when there is none (see Interruptible). */
  takeUnread(): { value: T } | undefined {
    return this.take();
  }

  next(): Promise<IteratorResult<T>> {
    const unread = this.take();
    if (unread) return Promise.resolve({ value: unread.value, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.reader = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    this.close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Ends the stream now: unread values are dropped and a waiting reader is told it is done. */
  protected close(): void {
    if (this.closed) return;
    this.closed = true;
    this.forget();
    this.reader?.({ value: undefined, done: true });
    this.reader = undefined;
    this.onClose();
  }
}

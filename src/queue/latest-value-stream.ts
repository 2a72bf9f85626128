/**
 * An async iterator that keeps only the newest unread value: what a status subscription needs.
 * A slow reader skips stale statuses instead of queueing them, and each subscription costs a few
 * fields rather than a general-purpose channel (this object exists once per open subscription).
 */
export class LatestValueStream<T> implements AsyncIterableIterator<T> {
  private pending: { value: T } | undefined;
  private reader: ((result: IteratorResult<T>) => void) | undefined;
  private closed = false;

  push(value: T): void {
    if (this.closed) return;
    const reader = this.reader;
    if (reader) {
      this.reader = undefined;
      reader({ value, done: false });
    } else {
      this.pending = { value };
    }
  }

  /** Sends `value` as the last one: the stream ends once the reader has it. */
  finish(value: T): void {
    if (this.closed) return;
    this.push(value);
    this.closed = true;
    this.onClose();
  }

  next(): Promise<IteratorResult<T>> {
    const pending = this.pending;
    if (pending) {
      this.pending = undefined;
      return Promise.resolve({ value: pending.value, done: false });
    }
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

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = undefined;
    this.reader?.({ value: undefined, done: true });
    this.reader = undefined;
    this.onClose();
  }

  /** Runs once, when the reader stops (return or throw). A method rather than a callback: one less object per subscription. */
  protected onClose(): void {}
}

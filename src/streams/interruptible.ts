/**
 * A subscription's source passed through untouched until `interrupt` ends it with an error: the
 * reader's pending or next `next()` rejects with it (graphql-ws sends it as the subscription's error)
 * and the source is closed. It also ends when the source does (done, or failed): graphql-ws calls
 * `return()` only on a stream it leaves early, so without this a stream that ended by itself
 * (SOLD_OUT, NOT_ACTIVE) would stay registered wherever `onClose` unregisters it. A class, not
 * closures: one exists per open subscription.
 */
export class Interruptible<T> implements AsyncIterableIterator<T> {
  private failure: Error | undefined;
  private rejectWaiting: ((error: Error) => void) | undefined;
  private closed = false;
  /** What the source held unread when interrupted with `unreadFirst`: handed out before the error. */
  private readonly unread: T[] = [];

  constructor(private readonly source: AsyncIterator<T>) {}

  get interrupted(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Ends the stream with `error`. With `unreadFirst`, what a source that keeps values for a slow reader
   * (a CoalescingStream) holds unread is read first: news of the time before the end (a payment's
   * seats, for the payer's map) is not dropped because the socket was slow.
   */
  interrupt(error: Error, unreadFirst = false): void {
    if (this.failure) return;
    if (unreadFirst && hasUnread<T>(this.source)) for (let kept = this.source.takeUnread(); kept; kept = this.source.takeUnread()) this.unread.push(kept.value);
    this.failure = error;
    this.rejectWaiting?.(error);
    this.close();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.unread.length > 0) return Promise.resolve({ value: this.unread.shift() as T, done: false });
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.rejectWaiting = reject;
      this.source.next().then(
        (result) => {
          if (result.done) this.close();
          resolve(result);
        },
        (error: unknown) => {
          this.close();
          reject(error);
        },
      );
    });
  }

  async return(): Promise<IteratorResult<T>> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Runs once, when the stream ends for any reason. */
  protected onClose(): void {}

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectWaiting = undefined;
    this.onClose();
    // Closing the source only unsubscribes; a failure there must not become an unhandled rejection.
    this.source.return?.().catch(() => undefined);
  }
}

/** A source that keeps values for a slow reader and can hand them out without waiting (CoalescingStream). */
function hasUnread<T>(source: AsyncIterator<T>): source is AsyncIterator<T> & { takeUnread(): { value: T } | undefined } {
  return typeof (source as { takeUnread?: unknown }).takeUnread === 'function';
}

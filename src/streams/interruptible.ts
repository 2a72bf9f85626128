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

  constructor(private readonly source: AsyncIterator<T>) {}

  get interrupted(): boolean {
    return this.failure !== undefined;
  }

  interrupt(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.rejectWaiting?.(error);
    this.close();
  }

  next(): Promise<IteratorResult<T>> {
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

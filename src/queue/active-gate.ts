import { AppError } from '../errors';
import { QueueState, type QueueStatusNode } from '../schema/types';
import type { StatusListener } from './live-status';

/**
 * A subscription that needs ACTIVE (seatChanged), ended with NOT_ACTIVE by the first tick that finds
 * its fan otherwise: expired, left, or paid. Until then it passes its source through untouched.
 */
export class ActiveGate<T> implements StatusListener, AsyncIterableIterator<T> {
  private failure: AppError | undefined;
  private rejectWaiting: ((error: AppError) => void) | undefined;
  private closed = false;

  constructor(
    readonly userId: number,
    readonly concertId: number,
    private readonly source: AsyncIterator<T>,
    private readonly onClose: () => void,
  ) {}

  update(status: QueueStatusNode): boolean {
    if (status.state === QueueState.ACTIVE || this.failure) return false;
    this.failure = new AppError('NOT_ACTIVE', 'Your ACTIVE time for this concert has ended: seat updates stop here. Enter the queue again to come back.');
    this.rejectWaiting?.(this.failure);
    this.close();
    return false;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.rejectWaiting = reject;
      this.source.next().then(resolve, reject);
    });
  }

  async return(): Promise<IteratorResult<T>> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectWaiting = undefined;
    this.onClose();
    // Closing the source only unsubscribes; a failure there must not become an unhandled rejection.
    this.source.return?.().catch(() => undefined);
  }
}

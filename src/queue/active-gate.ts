import { AppError } from '../errors';
import { QueueState, type QueueStatusNode } from '../schema/types';
import { Interruptible } from '../streams/interruptible';
import type { StatusListener } from './live-status';

/**
 * A subscription that needs ACTIVE (seatChanged), ended with NOT_ACTIVE by the first tick that finds
 * its fan otherwise: expired, left, or paid. Until then it passes its source through untouched.
 */
export class ActiveGate<T> extends Interruptible<T> implements StatusListener {
  constructor(
    readonly userId: number,
    readonly concertId: number,
    source: AsyncIterator<T>,
    private readonly onEnd: () => void,
  ) {
    super(source);
  }

  update(status: QueueStatusNode): boolean {
    if (status.state !== QueueState.ACTIVE) {
      this.interrupt(new AppError('NOT_ACTIVE', 'Your ACTIVE time for this concert has ended: seat updates stop here. Enter the queue again to come back.'));
    }
    return false;
  }

  protected override onClose(): void {
    this.onEnd();
  }
}

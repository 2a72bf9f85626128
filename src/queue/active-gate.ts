import { AppError } from '../errors';
import { Interruptible } from '../streams/interruptible';
import { QueueState, type QueueStatus } from './queue-state';
import type { StatusListener } from './status-listener';

/** How a subscription that needs ACTIVE ends when the fan is not (or no longer) ACTIVE. */
export function slotEnded(): AppError {
  return new AppError('NOT_ACTIVE', 'Your ACTIVE time for this concert has ended: seat updates stop here. Enter the queue again to come back.');
}

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

  update(status: QueueStatus): boolean {
    if (status.state !== QueueState.ACTIVE) this.interrupt(slotEnded());
    return false;
  }

  protected override onClose(): void {
    this.onEnd();
  }
}

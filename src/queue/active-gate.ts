import { AppError } from '../errors';
import { Interruptible } from '../streams/interruptible';
import { QueueState, type QueueStatus } from './queue-state';
import type { StatusListener } from './status-listener';

/** How a subscription that needs ACTIVE ends when the fan is not (or no longer) ACTIVE. */
export function slotEnded(): AppError {
  return new AppError('NOT_ACTIVE', 'Your ACTIVE time for this concert has ended: seat updates stop here. Enter the queue again to come back.');
}

/**
 * How long a seat feed goes on once its fan's slot has ended. A payment announces its seats and ends
 * the slot together, and the two news travel apart (on a Redis Cluster, through different nodes): the
 * payer's own map hears the seats it bought RESERVED before its feed ends, not one of them.
 */
const SLOT_END_SETTLE_MS = 300;

/**
 * A subscription that needs ACTIVE (seatChanged), ended with NOT_ACTIVE SLOT_END_SETTLE_MS after the
 * first status that finds its fan otherwise (expired, left, or paid), once a slow reader has read what
 * came before. Until then it passes its source through untouched.
 */
export class ActiveGate<T> extends Interruptible<T> implements StatusListener {
  private ending: NodeJS.Timeout | undefined;

  constructor(
    readonly userId: number,
    readonly concertId: number,
    source: AsyncIterator<T>,
    private readonly onEnd: () => void,
  ) {
    super(source);
  }

  update(status: QueueStatus): boolean {
    if (status.state !== QueueState.ACTIVE && !this.ending) this.ending = setTimeout(() => this.interrupt(slotEnded(), true), SLOT_END_SETTLE_MS);
    return false;
  }

  protected override onClose(): void {
    clearTimeout(this.ending);
    this.onEnd();
  }
}

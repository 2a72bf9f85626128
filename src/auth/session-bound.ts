import { AppError } from '../errors';
import { Interruptible } from '../streams/interruptible';

/** setTimeout's longest delay; a later end re-arms the timer. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * A subscription that lives no longer than the token it was opened with: when the token expires it
 * ends with UNAUTHENTICATED, as any request with that token would. A queueStatus feed otherwise runs
 * for as long as the socket stays open.
 */
export class SessionBound<T> extends Interruptible<T> {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    source: AsyncIterator<T>,
    private readonly endsAt: number,
  ) {
    super(source);
    this.arm();
  }

  protected override onClose(): void {
    clearTimeout(this.timer);
  }

  private arm(): void {
    const left = this.endsAt - Date.now();
    if (left <= 0) {
      this.interrupt(new AppError('UNAUTHENTICATED', 'Your session has expired: log in again and subscribe anew.'));
      return;
    }
    this.timer = setTimeout(() => this.arm(), Math.min(left, MAX_DELAY_MS));
  }
}

import type { QueueStatus } from './queue-state';

/** Something on this process that follows one fan's status in one concert, tick by tick. */
export interface StatusListener {
  readonly userId: number;
  readonly concertId: number;
  /** The fan's status after a tick (`print` is its fingerprint); true if it pushed a queueStatus message (counted in metrics). */
  update(status: QueueStatus, print: string): boolean;
}

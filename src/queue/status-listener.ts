import type { QueueStatus } from './queue-state';

/** Something on this process that follows one fan's status in one concert, tick by tick. */
export interface StatusListener {
  readonly userId: number;
  readonly concertId: number;
  /** The fan's status when it changed; true if it pushed a queueStatus message (counted in metrics). */
  update(status: QueueStatus): boolean;
}

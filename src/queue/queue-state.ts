/** Where a fan stands in one concert's waiting room. */
export enum QueueState {
  WAITING = 'WAITING',
  ACTIVE = 'ACTIVE',
  NONE = 'NONE',
  /** Entered before sales open: in the draw that orders the line at opening, with no position yet. */
  PREQUEUE = 'PREQUEUE',
  /** Every seat is reserved: nobody is admitted, and the fan is not in line (nor in the pre-queue). */
  SOLD_OUT = 'SOLD_OUT',
}

/** A fan's status in one concert's waiting room, as enterQueue, queueStatus and its feed answer. */
export interface QueueStatus {
  concertId: number;
  state: QueueState;
  /** 1 = next to be admitted; null unless WAITING. */
  position: number | null;
  waiting: number;
  active: number;
  /** Null unless WAITING. */
  estimatedWaitSeconds: number | null;
  /** Null unless ACTIVE. */
  activeUntil: Date | null;
  /** When sales open; null unless PREQUEUE. */
  salesOpenAt: Date | null;
  /** Seats of the concert neither reserved nor held (as of the last admission tick at most). */
  seatsLeft: number;
}

/**
 * A schedule's seat map: the seats read from the API, with the `seatChanged` events received since
 * that read applied on top, and the fan's own holds marked. Pure logic, unit-tested.
 */

export type SeatStatus = 'AVAILABLE' | 'HELD' | 'RESERVED';
/** What a seat looks like to this fan: its status, or MINE for a seat the fan holds. */
export type SeatLook = SeatStatus | 'MINE';

export interface SeatState {
  id: string;
  number: number;
  price: number;
  status: SeatStatus;
}

/** Applies one change to the map (unknown seats are ignored: they belong to another schedule). */
export function applySeatChange(seats: readonly SeatState[], change: Pick<SeatState, 'id' | 'status'>): readonly SeatState[] {
  const index = seats.findIndex((seat) => seat.id === change.id);
  if (index < 0 || seats[index]!.status === change.status) return seats;
  const next = seats.slice();
  next[index] = { ...seats[index]!, status: change.status };
  return next;
}

export function seatLook(seat: Pick<SeatState, 'id' | 'status'>, myHeldSeatIds: ReadonlySet<string>): SeatLook {
  if (seat.status === 'HELD' && myHeldSeatIds.has(seat.id)) return 'MINE';
  return seat.status;
}

const LOOK_WORDS: Record<SeatLook, string> = { AVAILABLE: 'available', HELD: 'held by someone else', RESERVED: 'sold', MINE: 'held by you' };

export function seatLookWords(look: SeatLook): string {
  return LOOK_WORDS[look];
}

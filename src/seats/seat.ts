/** A seat as the catalogue keeps it: plain values, fixed once its concert is created. */
export interface SeatInfo {
  id: number;
  scheduleId: number;
  concertId: number;
  number: number;
  price: number;
}

/** RESERVED: paid (MySQL); HELD: a live hold (Redis); else AVAILABLE. */
export enum SeatStatus {
  AVAILABLE = 'AVAILABLE',
  HELD = 'HELD',
  RESERVED = 'RESERVED',
}

/** A seat with its status now: what the seat map lists and seatChanged publishes (the pub/sub payload). */
export interface SeatState {
  id: number;
  scheduleId: number;
  number: number;
  price: number;
  status: SeatStatus;
  /** On a published change only: where it stands in its schedule's seat log (see SeatEvents), for a feed to resume from. */
  seatChangesCursor?: string;
}

/** A seat map as three lists by seat number (Schedule.seatMap). */
export interface SeatLists {
  /** As text, as the answer gives them: made once for all who share the map, not once a fan. */
  ids: readonly string[];
  prices: readonly number[];
  statuses: readonly SeatStatus[];
}

export const seatState = (seat: SeatInfo, status: SeatStatus): SeatState => ({ id: seat.id, scheduleId: seat.scheduleId, number: seat.number, price: seat.price, status });

/** `pick` of each seat, grouped by schedule: work on seats goes one call per schedule (one Redis slot each). */
export function groupBySchedule<S extends { scheduleId: number }, V>(seats: readonly S[], pick: (seat: S) => V): Map<number, V[]> {
  const groups = new Map<number, V[]>();
  for (const seat of seats) {
    const group = groups.get(seat.scheduleId);
    if (group) group.push(pick(seat));
    else groups.set(seat.scheduleId, [pick(seat)]);
  }
  return groups;
}

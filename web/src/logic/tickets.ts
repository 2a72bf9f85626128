/** What a fan is told of a cancellation. Pure logic, unit-tested. */

/**
 * Whether the reservation a cancelReservation answered was cancelled before the request was sent
 * (`sentNotBefore`: the server's time at the send, at the earliest; see ServerClock.earliestNow): then
 * the API refunded nothing this time. Its cancelledAt is in whole seconds (rounded down), so one this
 * request made is at most a second before the send; an earlier one it did not make.
 */
export function cancelledBefore(cancelledAt: string | null, sentNotBefore: number): boolean {
  return cancelledAt !== null && Date.parse(cancelledAt) + 1000 <= sentNotBefore;
}

/**
 * My tickets in the order a fan looks for them: the shows to come, soonest first, then those that
 * have started and the cancelled ones, latest show first. (The API lists them by purchase, newest
 * first: a tour's dates came out backwards, the next show at the bottom.)
 */
export function inShowOrder<T extends { status: string; seat: { number: number; schedule: { startsAt: string } } }>(tickets: readonly T[], now: number): T[] {
  const startOf = (ticket: T) => Date.parse(ticket.seat.schedule.startsAt);
  const upcoming = (ticket: T) => ticket.status !== 'CANCELLED' && startOf(ticket) > now;
  // One show's seats in their order.
  const bySeat = (a: T, b: T) => a.seat.number - b.seat.number;
  const ahead = tickets.filter(upcoming).sort((a, b) => startOf(a) - startOf(b) || bySeat(a, b));
  const behind = tickets.filter((ticket) => !upcoming(ticket)).sort((a, b) => startOf(b) - startOf(a) || bySeat(a, b));
  return [...ahead, ...behind];
}

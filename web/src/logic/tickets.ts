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

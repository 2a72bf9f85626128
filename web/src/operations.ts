import type { Client } from '@urql/core';
import { graphql, type ResultOf } from './graphql';

// ---- accounts and points ----

export const SignUp = graphql(`
  mutation SignUp($email: String!, $password: String!) {
    signUp(email: $email, password: $password) { token user { id email points } }
  }
`);
export const LogIn = graphql(`
  mutation LogIn($email: String!, $password: String!) {
    logIn(email: $email, password: $password) { token user { id email points } }
  }
`);

/**
 * Me's context: the balance also changes when a payment goes through or a ticket is cancelled (a
 * refund), whose answers (Payment, Reservation) invalidate it. Every read of Me passes it: urql keeps
 * one cached operation per query, and a read without it left the balance blind to them.
 */
export const ME_CONTEXT = { additionalTypenames: ['Payment', 'Reservation', 'User'] };
export const Me = graphql(`
  query Me {
    me { id email points }
  }
`);
/** Reads the balance again from the server (the account bar shows it), with Me's context. */
export const rereadMe = (client: Client) => client.query(Me, {}, { ...ME_CONTEXT, requestPolicy: 'network-only' }).toPromise();

export const ChargePoints = graphql(`
  mutation ChargePoints($amount: Int!) {
    chargePoints(amount: $amount) { id points }
  }
`);

// ---- concerts (public) ----

/** What both concert queries read of a concert; unmasked, so their results carry these fields as they are. */
const ConcertFields = graphql(`
  fragment ConcertFields on Concert @_unmask {
    id
    title
    venue
    maxActiveUsers
    salesOpenAt
    availableSeats
    soldOut
    schedules { id startsAt totalSeats availableSeats price }
  }
`);

export const Concerts = graphql(
  `
  query Concerts($limit: Int, $after: ID, $order: ConcertOrder) {
    concerts(limit: $limit, after: $after, order: $order) { ...ConcertFields }
  }
`,
  [ConcertFields],
);
export type ConcertItem = ResultOf<typeof Concerts>['concerts'][number];

export const ConcertDetail = graphql(
  `
  query ConcertDetail($id: ID!) {
    concert(id: $id) { ...ConcertFields }
  }
`,
  [ConcertFields],
);

// ---- the waiting room ----

/**
 * A fan's status. The subscription lists the fields itself, flat, and so must stay: the server
 * answers a flat subscription on a fast path (src/schema/projected-subscribe.ts), a fragment not.
 */
export const QueueStatusSubscription = graphql(`
  subscription QueueStatusLive($concertId: ID!) {
    queueStatus(concertId: $concertId) { concertId state position waiting active estimatedWaitSeconds activeUntil salesOpenAt seatsLeft }
  }
`);
export type QueueStatus = ResultOf<typeof QueueStatusSubscription>['queueStatus'];

/** The same fields for the answers over HTTP (unmasked, like ConcertFields). */
const QueueStatusFields = graphql(`
  fragment QueueStatusFields on QueueStatus @_unmask {
    concertId state position waiting active estimatedWaitSeconds activeUntil salesOpenAt seatsLeft
  }
`);

/** The same status over HTTP, for while the feed is down: asking counts as presence. */
export const QueueStatusNow = graphql(
  `
  query QueueStatusNow($concertId: ID!) {
    queueStatus(concertId: $concertId) { ...QueueStatusFields }
  }
`,
  [QueueStatusFields],
);

export const EnterQueue = graphql(
  `
  mutation EnterQueue($concertId: ID!) {
    enterQueue(concertId: $concertId) { ...QueueStatusFields }
  }
`,
  [QueueStatusFields],
);
export const LeaveQueue = graphql(
  `
  mutation LeaveQueue($concertId: ID!) {
    leaveQueue(concertId: $concertId) { ...QueueStatusFields }
  }
`,
  [QueueStatusFields],
);

// ---- seats, holds, payment (ACTIVE) ----

export const ScheduleSeats = graphql(`
  query ScheduleSeats($id: ID!) {
    schedule(id: $id) { id availableSeats seatChangesCursor seatMap { ids prices statuses } }
  }
`);

export const SeatChanged = graphql(`
  subscription SeatChanged($scheduleId: ID!, $after: String) {
    seatChanged(scheduleId: $scheduleId, after: $after) { id number price status seatChangesCursor }
  }
`);

export const MyHolds = graphql(`
  query MyHolds {
    me { id holds { id expiresAt seat { id number price schedule { id startsAt concert { id } } } } }
  }
`);
export type HoldItem = ResultOf<typeof MyHolds>['me']['holds'][number];

export const HoldSeat = graphql(`
  mutation HoldSeat($seatId: ID!) {
    holdSeat(seatId: $seatId) { id expiresAt seat { id number price status } }
  }
`);
export const ReleaseHold = graphql(`
  mutation ReleaseHold($holdId: ID!) {
    releaseHold(holdId: $holdId)
  }
`);
export const Pay = graphql(`
  mutation Pay($holdIds: [ID!]!, $idempotencyKey: String!) {
    pay(holdIds: $holdIds, idempotencyKey: $idempotencyKey) {
      id
      amount
      balance
      reservations { id code price status seat { id number schedule { id startsAt } } }
    }
  }
`);
export type PaymentResult = ResultOf<typeof Pay>['pay'];

// ---- tickets ----

export const MyTickets = graphql(`
  query MyTickets {
    me {
      id
      reservations {
        id
        code
        price
        createdAt
        status
        cancelledAt
        seat { id number schedule { id startsAt concert { id title venue } } }
      }
    }
  }
`);
export type TicketItem = ResultOf<typeof MyTickets>['me']['reservations'][number];

export const CancelReservation = graphql(`
  mutation CancelReservation($reservationId: ID!) {
    cancelReservation(reservationId: $reservationId) { id status cancelledAt price seat { id status } }
  }
`);

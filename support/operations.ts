/**
 * The API's operations as a client sends them, with the shapes of their answers: one copy for the
 * tests (test/) and the bench (bench/).
 */

// ---- accounts ----

export const SIGN_UP = 'mutation($email: String!, $password: String!) { signUp(email: $email, password: $password) { token user { id email role points } } }';
export const LOG_IN = 'mutation($email: String!, $password: String!) { logIn(email: $email, password: $password) { token user { id email role } } }';

// ---- the waiting room ----

/** The fields a waiting-room page asks for. */
const QUEUE_FIELDS = 'concertId state position waiting active estimatedWaitSeconds activeUntil salesOpenAt seatsLeft';

export interface QueueStatus {
  concertId: string;
  state: 'WAITING' | 'ACTIVE' | 'NONE' | 'PREQUEUE' | 'SOLD_OUT';
  position: number | null;
  waiting: number;
  active: number;
  estimatedWaitSeconds: number | null;
  activeUntil: string | null;
  salesOpenAt: string | null;
  seatsLeft: number;
}

export const ENTER = `mutation($id: ID!) { enterQueue(concertId: $id) { ${QUEUE_FIELDS} } }`;
export const LEAVE = `mutation($id: ID!) { leaveQueue(concertId: $id) { ${QUEUE_FIELDS} } }`;
export const STATUS = `query($id: ID!) { queueStatus(concertId: $id) { ${QUEUE_FIELDS} } }`;
export const STATUS_SUBSCRIPTION = `subscription($id: ID!) { queueStatus(concertId: $id) { ${QUEUE_FIELDS} } }`;

// ---- concerts (admin) ----

export const CREATE_CONCERT = 'mutation($input: ConcertInput!) { createConcert(input: $input) { id salesOpenAt } }';
export const SET_SALES_OPEN_AT = 'mutation($id: ID!, $at: DateTime) { setSalesOpenAt(concertId: $id, salesOpenAt: $at) { id salesOpenAt } }';
export const CONCERT_OPENING = 'query($id: ID!) { concert(id: $id) { id salesOpenAt } }';

// ---- seats, holds, points, payments ----

export type SeatStatus = 'AVAILABLE' | 'HELD' | 'RESERVED';

export interface Seat {
  id: string;
  number: number;
  price: number;
  status: SeatStatus;
  /** On a seatChanged event, when selected. */
  seatChangesCursor?: string | null;
}

export interface Hold {
  id: string;
  expiresAt: string;
  seat: Seat;
}

export interface Reservation {
  id: string;
  code: string;
  price: number;
  status: 'CONFIRMED' | 'CANCELLED';
  cancelledAt: string | null;
  seat: Seat;
}

export interface Payment {
  id: string;
  amount: number;
  balance: number;
  createdAt: string;
  reservations: Reservation[];
}

export interface LedgerEntry {
  kind: 'CHARGE' | 'PAYMENT' | 'REFUND';
  amount: number;
  balance: number;
}

export interface Me {
  points: number;
  pointHistory: LedgerEntry[];
  holds: Hold[];
  reservations: Reservation[];
}

const SEAT_FIELDS = 'id number price status';
export const SEATS = `query($id: ID!, $status: SeatStatus) { schedule(id: $id) { availableSeats seats(status: $status) { ${SEAT_FIELDS} } } }`;
export const AVAILABLE = '{ concerts { schedules { id availableSeats } } }';
export const HOLD = `mutation($seatId: ID!) { holdSeat(seatId: $seatId) { id expiresAt seat { ${SEAT_FIELDS} } } }`;
export const RELEASE = 'mutation($holdId: ID!) { releaseHold(holdId: $holdId) }';
export const CHARGE = 'mutation($amount: Int!) { chargePoints(amount: $amount) { id points } }';
const RESERVATION_FIELDS = `id code price status cancelledAt seat { ${SEAT_FIELDS} }`;
export const PAY = `mutation($holdIds: [ID!]!, $key: String!) { pay(holdIds: $holdIds, idempotencyKey: $key) { id amount balance createdAt reservations { ${RESERVATION_FIELDS} } } }`;
export const ME = `query($limit: Int) { me { points pointHistory(limit: $limit) { kind amount balance } holds { id expiresAt seat { ${SEAT_FIELDS} } } reservations { ${RESERVATION_FIELDS} } } }`;
export const CANCEL = `mutation($id: ID!) { cancelReservation(reservationId: $id) { ${RESERVATION_FIELDS} } }`;
/** A concert's inventory, public. */
export const CONCERT_SEATS = 'query($id: ID!) { concert(id: $id) { availableSeats soldOut } }';
export const SEAT_CHANGED = `subscription($id: ID!) { seatChanged(scheduleId: $id) { ${SEAT_FIELDS} schedule { id } } }`;
/** SEAT_CHANGED from a seat map's cursor (SEAT_MAP_WITH_CURSOR). */
export const SEAT_CHANGED_AFTER = `subscription($id: ID!, $after: String) { seatChanged(scheduleId: $id, after: $after) { ${SEAT_FIELDS} schedule { id } } }`;
export const SEAT_MAP_WITH_CURSOR = 'query($id: ID!) { schedule(id: $id) { seatChangesCursor seatMap { ids statuses } } }';

import type { Concert, PointTransaction, Schedule } from '../entities';
import type { SeatInfo } from '../seats/seat';
import type { Account } from '../points/points-service';
import type { PaymentRecord, ReservationRecord } from '../payments/payment-service';
import type { ConcertNode, PaymentNode, PointTransactionNode, ReservationNode, ScheduleNode, SeatNode, SeatStatus, UserNode } from './types';

/** Entity → GraphQL object: IDs become strings, relations become plain IDs for field resolvers. */
export const toUserNode = (user: Account): UserNode => ({ id: String(user.id), email: user.email, role: user.role, points: user.points });

export const toConcertNode = (concert: Concert): ConcertNode => ({
  id: String(concert.id),
  title: concert.title,
  venue: concert.venue,
  maxActiveUsers: concert.maxActiveUsers,
});

export const toScheduleNode = (schedule: Schedule): ScheduleNode => ({
  id: String(schedule.id),
  concertId: schedule.concert.id,
  startsAt: schedule.startsAt,
  totalSeats: schedule.totalSeats,
});

export const toReservationNode = (reservation: ReservationRecord): ReservationNode => ({ ...reservation, id: String(reservation.id) });

export const toPointTransactionNode = (entry: PointTransaction): PointTransactionNode => ({
  id: String(entry.id),
  kind: entry.kind,
  amount: entry.amount,
  balance: entry.balance,
  createdAt: entry.createdAt,
});

export const toSeatNode = (seat: SeatInfo, status: SeatStatus): SeatNode => ({
  id: String(seat.id),
  scheduleId: seat.scheduleId,
  number: seat.number,
  price: seat.price,
  status,
});

export const toPaymentNode = (payment: PaymentRecord): PaymentNode => ({
  id: String(payment.id),
  amount: payment.amount,
  balance: payment.balance,
  createdAt: payment.createdAt,
  written: payment.reservations?.map(toReservationNode),
});

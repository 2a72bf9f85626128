import type { Concert, PointTransaction, Schedule } from '../entities';
import type { ConcertNode, PointTransactionNode, ScheduleNode } from './types';

/** Entity → GraphQL object: relations become plain IDs for field resolvers. */
export const toConcertNode = (concert: Concert): ConcertNode => ({
  id: concert.id,
  title: concert.title,
  venue: concert.venue,
  maxActiveUsers: concert.maxActiveUsers,
  salesOpenAt: concert.salesOpenAt,
});

export const toScheduleNode = (schedule: Schedule): ScheduleNode => ({
  id: schedule.id,
  concertId: schedule.concert.id,
  startsAt: schedule.startsAt,
  totalSeats: schedule.totalSeats,
  price: schedule.price,
});

export const toPointTransactionNode = (entry: PointTransaction): PointTransactionNode => ({
  id: entry.id,
  kind: entry.kind,
  amount: entry.amount,
  balance: entry.balance,
  createdAt: entry.createdAt,
});

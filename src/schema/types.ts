import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { Account } from '../accounts/account';
import { ConcertOrder, type ConcertInput, type ScheduleInput } from '../concerts/concert-service';
import { PointTransactionKind, Role } from '../entities';
import type { Hold } from '../holds/hold';
import { ReservationStatus, type PaymentRecord, type ReservationRecord } from '../payments/payment';
import { QueueState, type QueueStatus } from '../queue/queue-state';
import { SeatStatus, type SeatState } from '../seats/seat';

registerEnumType(QueueState, {
  name: 'QueueState',
  valuesConfig: {
    WAITING: { description: 'In the waiting room; position says how many are ahead.' },
    ACTIVE: { description: 'Admitted: may view seats, hold and pay until activeUntil.' },
    NONE: { description: 'Not in the queue for this concert (never entered, left, paid, expired, or dropped as absent).' },
    PREQUEUE: {
      description: 'Entered before sales open. At salesOpenAt everyone in PREQUEUE is put in a uniformly random order, ahead of every later arrival; until then position is null.',
    },
    SOLD_OUT: { description: 'Every seat of the concert is reserved: nobody more is admitted, and the fan is no longer in line (nor in the pre-queue).' },
  },
});
registerEnumType(ConcertOrder, {
  name: 'ConcertOrder',
  description: 'The order of the concert list, by ID: the order concerts were made in.',
  valuesConfig: {
    OLDEST_FIRST: { description: 'Ascending IDs.' },
    NEWEST_FIRST: { description: 'Descending IDs: the concerts announced last come first.' },
  },
});
registerEnumType(ReservationStatus, { name: 'ReservationStatus' });
registerEnumType(SeatStatus, { name: 'SeatStatus' });
registerEnumType(Role, { name: 'Role' });
registerEnumType(PointTransactionKind, { name: 'PointTransactionKind' });

/*
 * GraphQL object types: each implements the domain shape it presents (IDs are numbers there; the ID
 * scalar serializes them), so services' answers are returned as they are. Fields that need a lookup
 * (User.holds, Schedule.seats, …) are resolved by field resolvers in src/resolvers; these classes
 * carry only what the parent already knows.
 */

@ObjectType('User')
export class UserNode implements Account {
  @Field(() => ID) id!: number;
  @Field(() => String) email!: string;
  @Field(() => Role) role!: Role;
  @Field(() => Int) points!: number;
}

@ObjectType('AuthPayload')
export class AuthPayload {
  @Field(() => String) token!: string;
  @Field(() => UserNode) user!: UserNode;
}

@ObjectType('Concert')
export class ConcertNode {
  @Field(() => ID) id!: number;
  @Field(() => String) title!: string;
  @Field(() => String) venue!: string;
  @Field(() => Int) maxActiveUsers!: number;
  @Field(() => Date, { nullable: true, description: 'When the waiting room starts admitting. Null: sales are open.' }) salesOpenAt!: Date | null;
}

@ObjectType('Schedule')
export class ScheduleNode {
  @Field(() => ID) id!: number;
  concertId!: number;
  @Field(() => Date) startsAt!: Date;
  @Field(() => Int) totalSeats!: number;
  @Field(() => Int, {
    nullable: true,
    description: 'The price of each of its seats, in points: public, so a fan knows what to charge before queueing. Null for a date a server of an earlier version created during an upgrade (its seats say their price).',
  })
  price!: number | null;
}

// simpleResolvers: plain property reads, without type-graphql's per-field middleware wrapper. Seat
// maps list thousands of seats, and queueStatus is pushed to every waiting fan on every tick (its
// events are projected without graphql-js execution only when its fields have no resolver; see
// schema/projected-subscribe.ts). Neither type has, or may get, field-level @Authorized.
@ObjectType('Seat', { simpleResolvers: true })
export class SeatNode implements SeatState {
  @Field(() => ID) id!: number;
  scheduleId!: number;
  @Field(() => Int) number!: number;
  @Field(() => Int) price!: number;
  @Field(() => SeatStatus) status!: SeatStatus;
  @Field(() => String, {
    nullable: true,
    description:
      "On a seatChanged event: where this change stands in the schedule's seat changes. Subscribe again with seatChanged(after:) it to go on from here (after a reconnect, say) without reading the map again; good until 30 s after the schedule's next change, or for 10 minutes while nothing changes (then BAD_USER_INPUT). Null on a seat read any other way.",
  })
  seatChangesCursor?: string;
}

/**
 * Schedule.seatMap: the map of Schedule.seats as three lists by seat number. graphql-js resolves a
 * list item of a scalar for a fraction of what a Seat object with four fields costs: a 100,000-seat
 * map read cost the server ~300 ms of CPU as seats, most of it graphql-js's per-field work.
 */
@ObjectType('SeatMap', {
  simpleResolvers: true,
  description: 'Every seat of a schedule in three lists of the same length, by seat number: the entries at index i are those of seat number i + 1 (seats are numbered from 1). What Schedule.seats answers, far cheaper to read for a large schedule.',
})
export class SeatMapNode {
  @Field(() => [ID]) ids!: readonly string[];
  @Field(() => [Int]) prices!: readonly number[];
  @Field(() => [SeatStatus]) statuses!: readonly SeatStatus[];
}

@ObjectType('Hold')
export class HoldNode implements Hold {
  @Field(() => ID) id!: string;
  seatId!: number;
  @Field(() => Date) expiresAt!: Date;
}

@ObjectType('Reservation')
export class ReservationNode implements ReservationRecord {
  @Field(() => ID) id!: number;
  @Field(() => String, { description: 'Human-readable and unique, e.g. for a ticket.' }) code!: string;
  seatId!: number;
  @Field(() => Int) price!: number;
  @Field(() => Date) createdAt!: Date;
  @Field(() => ReservationStatus) status!: ReservationStatus;
  @Field(() => Date, { nullable: true, description: 'Null unless CANCELLED.' }) cancelledAt!: Date | null;
  /** Known to the request that wrote it (see ReservationRecord.seat); Reservation.seat reads it otherwise. */
  seat?: SeatState;
}

@ObjectType('Payment')
export class PaymentNode implements PaymentRecord {
  @Field(() => ID) id!: number;
  @Field(() => Int) amount!: number;
  @Field(() => Int, { description: 'Points left after this payment.' }) balance!: number;
  @Field(() => Date) createdAt!: Date;
  /** The reservations, when the request that made the payment wrote them: no need to read them back. */
  reservations?: ReservationRecord[];
}

@ObjectType('PointTransaction')
export class PointTransactionNode {
  @Field(() => ID) id!: number;
  @Field(() => PointTransactionKind) kind!: PointTransactionKind;
  @Field(() => Int, { description: 'Positive for CHARGE and REFUND, negative for PAYMENT.' }) amount!: number;
  @Field(() => Int, { description: 'Balance right after this transaction.' }) balance!: number;
  @Field(() => Date) createdAt!: Date;
}

@ObjectType('QueueStatus', { simpleResolvers: true })
export class QueueStatusNode implements QueueStatus {
  @Field(() => ID) concertId!: number;
  @Field(() => QueueState) state!: QueueState;
  @Field(() => Int, { nullable: true, description: '1 = next to be admitted. Null unless WAITING.' }) position!: number | null;
  @Field(() => Int, { description: "People waiting in this concert's queue." }) waiting!: number;
  @Field(() => Int, { description: 'People admitted (ACTIVE) for this concert.' }) active!: number;
  @Field(() => Int, { nullable: true, description: 'Null unless WAITING.' }) estimatedWaitSeconds!: number | null;
  @Field(() => Date, { nullable: true, description: 'Null unless ACTIVE.' }) activeUntil!: Date | null;
  @Field(() => Date, { nullable: true, description: 'Set while PREQUEUE: when sales open.' }) salesOpenAt!: Date | null;
  @Field(() => Int, { description: 'Seats of this concert neither reserved nor held right now (may lag by one admission tick).' }) seatsLeft!: number;
}

@InputType('ScheduleInput')
export class ScheduleInputNode implements ScheduleInput {
  @Field(() => Date) startsAt!: Date;
  @Field(() => Int) seatCount!: number;
  @Field(() => Int) price!: number;
}

@InputType('ConcertInput')
export class ConcertInputNode implements ConcertInput {
  @Field(() => String) title!: string;
  @Field(() => String) venue!: string;
  @Field(() => Int) maxActiveUsers!: number;
  @Field(() => [ScheduleInputNode]) schedules!: ScheduleInputNode[];
  @Field(() => Date, { nullable: true, description: 'Absent or null: sales open at once.' }) salesOpenAt?: Date | null;
}

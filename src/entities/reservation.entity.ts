import { OptionalProps, Entity, Enum, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { ReservationStatus } from '../payments/payment';
import { Payment } from './payment.entity';
import { Seat } from './seat.entity';
import { User } from './user.entity';
import { datetimeNow } from '../database/datetime';

@Entity({ tableName: 'reservations' })
export class Reservation {
  [OptionalProps]?: 'createdAt' | 'status' | 'confirmedSeatId';

  @PrimaryKey({ type: 'bigint', autoincrement: true, unsigned: true })
  id!: number;

  /** Human-readable ticket code, unique. */
  @Property({ type: 'string', length: 16, unique: true })
  code!: string;

  /** A seat keeps its cancelled reservations; at most one CONFIRMED (see confirmedSeatId). */
  @ManyToOne({ entity: () => Seat, updateRule: 'restrict' })
  seat!: Seat;

  @ManyToOne({ entity: () => User })
  user!: User;

  @ManyToOne({ entity: () => Payment })
  payment!: Payment;

  @Property({ type: 'integer', unsigned: true })
  price!: number;

  @Property({ type: 'datetime', defaultRaw: 'CURRENT_TIMESTAMP' })
  createdAt: Date = datetimeNow();

  @Enum({ items: () => ReservationStatus, default: ReservationStatus.CONFIRMED })
  status: ReservationStatus = ReservationStatus.CONFIRMED;

  @Property({ type: 'datetime', nullable: true })
  cancelledAt?: Date | null;

  /**
   * The seat while CONFIRMED, NULL once cancelled, written by the database itself. Unique: the
   * database is the last fence against selling a seat twice, whatever Redis says.
   */
  @Property({
    type: 'bigint',
    unsigned: true,
    nullable: true,
    unique: 'reservations_confirmed_seat_id_unique',
    generated: "(case when `status` = 'CONFIRMED' then `seat_id` end) stored",
  })
  confirmedSeatId?: number | null;
}

import { OptionalProps, Entity, ManyToOne, OneToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { Payment } from './payment.entity';
import { Seat } from './seat.entity';
import { User } from './user.entity';

@Entity({ tableName: 'reservations' })
export class Reservation {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true, unsigned: true })
  id!: number;

  /** Human-readable ticket code, unique. */
  @Property({ type: 'string', length: 16, unique: true })
  code!: string;

  /** Unique: the database is the last fence against selling a seat twice, whatever Redis says. */
  @OneToOne({ entity: () => Seat, owner: true, unique: true })
  seat!: Seat;

  @ManyToOne({ entity: () => User })
  user!: User;

  @ManyToOne({ entity: () => Payment })
  payment!: Payment;

  @Property({ type: 'integer', unsigned: true })
  price!: number;

  @Property({ type: 'datetime', defaultRaw: 'CURRENT_TIMESTAMP' })
  createdAt: Date = new Date();
}

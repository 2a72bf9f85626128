import { Entity, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { Concert } from './concert.entity';

@Entity({ tableName: 'schedules' })
export class Schedule {
  @PrimaryKey({ type: 'bigint', autoincrement: true, unsigned: true })
  id!: number;

  @ManyToOne({ entity: () => Concert, deleteRule: 'cascade' })
  concert!: Concert;

  /** To the millisecond: cancelling is allowed until this very instant. */
  @Property({ type: 'datetime', length: 3 })
  startsAt!: Date;

  /** Seats never change after creation, so the count is stored rather than counted per request. */
  @Property({ type: 'integer', unsigned: true })
  totalSeats!: number;

  /**
   * The price of each of its seats (one per schedule, given at creation), kept here as well: the
   * concert list shows it, and must not read 100,000 seats a date for it. Null for a schedule a
   * replica of an earlier version created during an upgrade (it knows no such column).
   */
  @Property({ type: 'integer', unsigned: true, nullable: true })
  price: number | null = null;
}

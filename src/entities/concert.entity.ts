import { OptionalProps, Collection, Entity, OneToMany, PrimaryKey, Property } from '@mikro-orm/core';
import { Schedule } from './schedule.entity';
import { datetimeNow } from '../database/datetime';

@Entity({ tableName: 'concerts' })
export class Concert {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true, unsigned: true })
  id!: number;

  @Property({ type: 'string', length: 200 })
  title!: string;

  @Property({ type: 'string', length: 200 })
  venue!: string;

  /** How many fans may be ACTIVE (choosing seats) at once; read by every admission tick. */
  @Property({ type: 'integer', unsigned: true })
  maxActiveUsers!: number;

  /** When the waiting room starts admitting; null: sales are open. Redis keeps the live copy the tick opens (see QueueService). */
  @Property({ type: 'datetime', length: 3, nullable: true })
  salesOpenAt: Date | null = null;

  @OneToMany({ entity: () => Schedule, mappedBy: 'concert', orderBy: { startsAt: 'asc', id: 'asc' } })
  schedules = new Collection<Schedule>(this);

  @Property({ type: 'datetime', defaultRaw: 'CURRENT_TIMESTAMP' })
  createdAt: Date = datetimeNow();
}

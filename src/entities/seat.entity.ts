import { Entity, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Schedule } from './schedule.entity';

@Entity({ tableName: 'seats' })
@Unique({ properties: ['schedule', 'number'] })
export class Seat {
  @PrimaryKey({ type: 'bigint', autoincrement: true, unsigned: true })
  id!: number;

  @ManyToOne({ entity: () => Schedule, deleteRule: 'cascade' })
  schedule!: Schedule;

  @Property({ type: 'integer', unsigned: true })
  number!: number;

  @Property({ type: 'integer', unsigned: true })
  price!: number;
}

import { OptionalProps, Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { Payment } from './payment.entity';
import { User } from './user.entity';
import { datetimeNow } from '../database/datetime';

export enum PointTransactionKind {
  CHARGE = 'CHARGE',
  PAYMENT = 'PAYMENT',
  REFUND = 'REFUND',
}

/** Append-only ledger: one row per balance change, with the balance right after it. */
@Entity({ tableName: 'point_transactions' })
@Index({ properties: ['user', 'id'] })
export class PointTransaction {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true, unsigned: true })
  id!: number;

  @ManyToOne({ entity: () => User })
  user!: User;

  @Enum({ items: () => PointTransactionKind })
  kind!: PointTransactionKind;

  /** Positive for CHARGE and REFUND, negative for PAYMENT. */
  @Property({ type: 'integer' })
  amount!: number;

  @Property({ type: 'integer', unsigned: true })
  balance!: number;

  @ManyToOne({ entity: () => Payment, nullable: true })
  payment?: Payment;

  @Property({ type: 'datetime', defaultRaw: 'CURRENT_TIMESTAMP' })
  createdAt: Date = datetimeNow();
}

import { OptionalProps, Entity, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { User } from './user.entity';
import { datetimeNow } from '../database/datetime';

@Entity({ tableName: 'payments' })
@Unique({ properties: ['user', 'idempotencyKey'] })
export class Payment {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true, unsigned: true })
  id!: number;

  @ManyToOne({ entity: () => User })
  user!: User;

  /**
   * The client's retry key, as its UTF-8 bytes: (user, key) is unique, so a retried payment finds the
   * first one. Compared byte for byte (migration 20261213100000): keys differing only in case or in
   * trailing spaces are different keys.
   */
  @Property({ type: 'blob', columnType: 'varbinary(512)' })
  idempotencyKey!: Buffer;

  /** Fingerprint of the sorted hold IDs, to tell a retry from a reuse of the key for other holds. */
  @Property({ type: 'string', length: 64 })
  requestHash!: string;

  @Property({ type: 'integer', unsigned: true })
  amount!: number;

  @Property({ type: 'integer', unsigned: true })
  balance!: number;

  @Property({ type: 'datetime', defaultRaw: 'CURRENT_TIMESTAMP' })
  createdAt: Date = datetimeNow();
}

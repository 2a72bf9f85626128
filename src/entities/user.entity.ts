import { OptionalProps, Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { datetimeNow } from '../database/datetime';

export enum Role {
  USER = 'USER',
  ADMIN = 'ADMIN',
}

@Entity({ tableName: 'users' })
export class User {
  [OptionalProps]?: 'role' | 'points' | 'createdAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true, unsigned: true })
  id!: number;

  /** Stored as canonicalEmail spells it (trimmed, NFC, case-folded); the column compares bytes (utf8mb4_bin, migration 20261212100000), on MySQL and MariaDB alike. */
  @Property({ type: 'string', length: 254, unique: true })
  email!: string;

  @Property({ type: 'string', length: 255, hidden: true })
  passwordHash!: string;

  @Enum({ items: () => Role, default: Role.USER })
  role: Role = Role.USER;

  /** Current balance; only PointsService changes it, always with a ledger row in the same transaction. */
  @Property({ type: 'integer', unsigned: true, default: 0 })
  points = 0;

  @Property({ type: 'datetime', defaultRaw: 'CURRENT_TIMESTAMP' })
  createdAt: Date = datetimeNow();

  /**
   * When the operator last gave this account its role or password (AccountService.ensureAdmin): a
   * token issued before then may not act as ADMIN (it may have been the previous owner's). Indexed:
   * every replica reads the few accounts that have one every ACCOUNT_CHECK_SECONDS (ExistingAccounts).
   */
  @Index({ name: 'users_credentials_changed_at_index' })
  @Property({ type: 'datetime', nullable: true })
  credentialsChangedAt?: Date | null;
}

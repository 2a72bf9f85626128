import { Migration } from '@mikro-orm/migrations';

/**
 * Idempotency keys compared byte for byte, trailing spaces included. utf8mb4_bin (migration
 * 20261124054500) still pads: "k" and "k " were one key, so a new payment with "k " was refused as a
 * reuse of "k" (IDEMPOTENCY_KEY_REUSED). VARBINARY compares bytes with no padding, on MariaDB and
 * MySQL 8 alike; 512 bytes hold any 128-character key in UTF-8. The bytes stored do not change, and
 * the unique (user, key) index, which kept padded twins apart, stays valid.
 */
export class Migration20261213100000 extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `payments` modify `idempotency_key` varbinary(512) not null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `payments` modify `idempotency_key` varchar(128) character set utf8mb4 collate utf8mb4_bin not null;');
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * Idempotency keys are opaque client strings: "Abc" and "abc " are different keys. The default
 * collation compared them case- and trailing-space-insensitively, so a second payment could be taken
 * for a retry of the first (or refused as a reuse). Binary collation compares them byte for byte.
 */
export class Migration20261124054500 extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `payments` modify `idempotency_key` varchar(128) character set utf8mb4 collate utf8mb4_bin not null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `payments` modify `idempotency_key` varchar(128) not null;');
  }
}

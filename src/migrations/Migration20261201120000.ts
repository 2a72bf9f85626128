import { Migration } from '@mikro-orm/migrations';

/**
 * `users.email` took the server's default collation: utf8mb4_general_ci on MariaDB 10, utf8mb4_0900_ai_ci
 * on MySQL 8 (NO PAD, other Unicode weights), so the same unique index accepted different sets of emails
 * depending on the server. Pinned to utf8mb4_bin, the same on both, which refuses none of the rows
 * either accepted (emails apart under a collation are apart as bytes): a case- or accent-insensitive
 * collation here made an upgrade fail for good on strasse@ beside straße@, or an accent typed two
 * ways. The app compares emails through one canonical spelling instead (Migration20261212100000).
 */
export class Migration20261201120000 extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `users` modify `email` varchar(254) character set utf8mb4 collate utf8mb4_bin not null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `users` modify `email` varchar(254) not null;');
  }
}

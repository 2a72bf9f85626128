import { Migration } from '@mikro-orm/migrations';

/**
 * `users.email` compared under utf8mb4_unicode_ci, which ignores accents as well as case: josé@ and
 * jose@ were one address (the second sign-up got EMAIL_TAKEN, and logIn as jose@ reached josé's
 * account). The app stores and looks up one canonical spelling (trimmed, NFC, lower case: see
 * canonicalEmail), so the column now compares bytes: case-insensitive through that spelling, and
 * nothing else folded. Rows written before canonicalEmail lowered case are lowered first; the old
 * collation's unique index guarantees no two of them become equal.
 */
export class Migration20261212100000 extends Migration {
  override async up(): Promise<void> {
    this.addSql('update `users` set `email` = lower(`email`) where binary `email` <> binary lower(`email`);');
    this.addSql('alter table `users` modify `email` varchar(254) character set utf8mb4 collate utf8mb4_bin not null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `users` modify `email` varchar(254) character set utf8mb4 collate utf8mb4_unicode_ci not null;');
  }
}

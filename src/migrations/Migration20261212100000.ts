import { Migration } from '@mikro-orm/migrations';
import { respellEmails } from './respell-emails';

/**
 * `users.email` compared under a collation (utf8mb4_unicode_ci, or the server's default before
 * Migration20261201120000) that may ignore accents as well as case: josé@ and jose@ were one address
 * (the second sign-up got EMAIL_TAKEN, and logIn as jose@ reached josé's account). The app stores and
 * looks up one canonical spelling (canonicalEmail: trimmed, NFC, case-folded), so the column now
 * compares bytes: case-insensitive through that spelling, nothing else folded. First every row is
 * rewritten to that spelling (respellEmails): rows stored before it (an accent as a combining mark; a
 * capital that SQL's LOWER() and JS lower differently) would otherwise never match a log-in again.
 * Two accounts whose emails have one canonical spelling are possible under a server's default
 * collation, which kept an accent typed two ways apart.
 */
export class Migration20261212100000 extends Migration {
  override async up(): Promise<void> {
    await respellEmails(this, 'Migration20261212100000');
    this.addSql('alter table `users` modify `email` varchar(254) character set utf8mb4 collate utf8mb4_bin not null;');
  }

  /** Fails (duplicate key) once two addresses that differ only by an accent both have accounts. */
  override async down(): Promise<void> {
    this.addSql('alter table `users` modify `email` varchar(254) character set utf8mb4 collate utf8mb4_unicode_ci not null;');
  }
}

import { Migration } from '@mikro-orm/migrations';
import { canonicalEmail } from '../accounts/account-service';

/** Rows read and rewritten per step. */
const BATCH = 10_000;

/**
 * `users.email` compared under utf8mb4_unicode_ci, which ignores accents as well as case: josé@ and
 * jose@ were one address (the second sign-up got EMAIL_TAKEN, and logIn as jose@ reached josé's
 * account). The app stores and looks up one canonical spelling (canonicalEmail: trimmed, NFC, lower
 * case), so the column now compares bytes: case-insensitive through that spelling, nothing else
 * folded. First every row is rewritten to that spelling, here in JS: rows stored before it (an accent
 * as a combining mark; a capital that SQL's LOWER() and JS lower differently) would otherwise never
 * match a log-in again. The old collation's unique index already kept any two such spellings apart.
 */
export class Migration20261212100000 extends Migration {
  override async up(): Promise<void> {
    for (let after = 0; ; ) {
      const rows = (await this.execute('select id, email from users where id > ? order by id limit ?', [after, BATCH])) as { id: number | string; email: string }[];
      const last = rows.at(-1);
      if (!last) break;
      for (const row of rows) {
        const email = canonicalEmail(row.email);
        if (email !== row.email) await this.execute('update users set email = ? where id = ?', [email, row.id]);
      }
      after = Number(last.id);
    }
    this.addSql('alter table `users` modify `email` varchar(254) character set utf8mb4 collate utf8mb4_bin not null;');
  }

  /** Fails (duplicate key) once two addresses that differ only by an accent both have accounts. */
  override async down(): Promise<void> {
    this.addSql('alter table `users` modify `email` varchar(254) character set utf8mb4 collate utf8mb4_unicode_ci not null;');
  }
}

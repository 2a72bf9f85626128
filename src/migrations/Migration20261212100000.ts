import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { canonicalEmail } from '../accounts/account-service';

/** Rows read and rewritten per step. */
const BATCH = 10_000;

/**
 * `users.email` compared under a collation (utf8mb4_unicode_ci, or the server's default before
 * Migration20261201120000) that may ignore accents as well as case: josé@ and jose@ were one address
 * (the second sign-up got EMAIL_TAKEN, and logIn as jose@ reached josé's account). The app stores and
 * looks up one canonical spelling (canonicalEmail: trimmed, NFC, lower case), so the column now
 * compares bytes: case-insensitive through that spelling, nothing else folded. First every row is
 * rewritten to that spelling, here in JS: rows stored before it (an accent as a combining mark; a
 * capital that SQL's LOWER() and JS lower differently) would otherwise never match a log-in again.
 * Two accounts whose emails have one canonical spelling (possible under a server's default
 * collation, which kept an accent typed two ways apart) cannot both have it: the first keeps it, the
 * later keeps its spelling as stored, and the migration says so rather than fail every start.
 */
export class Migration20261212100000 extends Migration {
  override async up(): Promise<void> {
    const kept: string[] = [];
    for (let after = 0; ; ) {
      const rows = (await this.execute('select id, email from users where id > ? order by id limit ?', [after, BATCH])) as { id: number | string; email: string }[];
      const last = rows.at(-1);
      if (!last) break;
      for (const row of rows) {
        const email = canonicalEmail(row.email);
        if (email === row.email) continue;
        await this.execute('update users set email = ? where id = ?', [email, row.id]).catch((error: unknown) => {
          if (!(error instanceof UniqueConstraintViolationException)) throw error;
          kept.push(String(row.id));
        });
      }
      after = Number(last.id);
    }
    if (kept.length > 0) {
      console.warn(`Migration20261212100000: users ${kept.join(', ')} keep their email as stored: another account already has its canonical spelling (they cannot log in until one of the two addresses is changed)`);
    }
    this.addSql('alter table `users` modify `email` varchar(254) character set utf8mb4 collate utf8mb4_bin not null;');
  }

  /** Fails (duplicate key) once two addresses that differ only by an accent both have accounts. */
  override async down(): Promise<void> {
    this.addSql('alter table `users` modify `email` varchar(254) character set utf8mb4 collate utf8mb4_unicode_ci not null;');
  }
}

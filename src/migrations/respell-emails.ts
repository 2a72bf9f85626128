import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Migration } from '@mikro-orm/migrations';
import { canonicalEmail } from '../accounts/account-service';

/** Rows read and rewritten per step. */
const BATCH = 10_000;

/**
 * Rewrites every stored email to canonicalEmail's spelling, here in JS (SQL folds case otherwise), so
 * a row stored under an older spelling matches a log-in again. Two accounts whose emails now have one
 * spelling cannot both have it: the first keeps it, the later keeps its spelling as stored (it can no
 * longer log in until one of the two addresses changes), and the migration says so rather than fail
 * every start.
 */
export async function respellEmails(migration: Migration, name: string): Promise<void> {
  const kept: string[] = [];
  for (let after = 0; ; ) {
    const rows = (await migration.execute('select id, email from users where id > ? order by id limit ?', [after, BATCH])) as { id: number | string; email: string }[];
    const last = rows.at(-1);
    if (!last) break;
    for (const row of rows) {
      const email = canonicalEmail(row.email);
      if (email === row.email) continue;
      await migration.execute('update users set email = ? where id = ?', [email, row.id]).catch((error: unknown) => {
        if (!(error instanceof UniqueConstraintViolationException)) throw error;
        kept.push(String(row.id));
      });
    }
    after = Number(last.id);
  }
  if (kept.length > 0) {
    console.warn(`${name}: users ${kept.join(', ')} keep their email as stored: another account already has its canonical spelling (they cannot log in until one of the two addresses is changed)`);
  }
}

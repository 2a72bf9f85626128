import { Migration } from '@mikro-orm/migrations';
import { respellEmails } from './respell-emails';

/**
 * Emails folded letter by letter through their capitals (canonicalEmail), no longer lower-cased:
 * lower-casing kept ſ from s, σ from ς (and spelled a final capital sigma ς), µ from μ, so ΝΙΚΟΣ@ and
 * νικοσ@ signed up as two accounts. Rows stored under the old spelling are rewritten to the new one
 * (respellEmails: where two accounts now share it, the first keeps it). Nothing to undo: the old code
 * lower-cases the new spellings to themselves.
 */
export class Migration20261216100000 extends Migration {
  override async up(): Promise<void> {
    await respellEmails(this, 'Migration20261216100000');
  }

  override async down(): Promise<void> {}
}

import { ResumableMigration } from './resumable-migration';

/**
 * When an account's role or password was last changed by the operator (ADMIN_EMAIL/ADMIN_PASSWORD at
 * start): tokens issued before it may no longer use the ADMIN role. NULL for an account never changed.
 * Existing admins get the time of the upgrade: versions before it made an account ADMIN without such a
 * mark, so a token issued then (by whoever had signed the address up first, or under a password since
 * rotated) is refused admin operations too. An admin logs in once more.
 */
export class Migration20261214100000 extends ResumableMigration {
  override async up(): Promise<void> {
    if (!(await this.hasColumn('users', 'credentials_changed_at'))) this.addSql('alter table `users` add `credentials_changed_at` datetime null;');
    // UTC, in whole seconds, as the app writes it (mikro-orm.config.ts) and as tokens count (iat).
    this.addSql("update `users` set `credentials_changed_at` = utc_timestamp() where `role` = 'ADMIN';");
  }

  override async down(): Promise<void> {
    this.addSql('alter table `users` drop column `credentials_changed_at`;');
  }
}

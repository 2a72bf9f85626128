import { ResumableMigration } from './resumable-migration';

/**
 * An index on `users.credentials_changed_at`: every replica reads the accounts that have one (the
 * admins) every ACCOUNT_CHECK_SECONDS, which without it scanned every user.
 */
export class Migration20261217100000 extends ResumableMigration {
  override async up(): Promise<void> {
    if (!(await this.hasIndex('users', 'users_credentials_changed_at_index'))) {
      this.addSql('alter table `users` add index `users_credentials_changed_at_index` (`credentials_changed_at`);');
    }
  }

  override async down(): Promise<void> {
    this.addSql('alter table `users` drop index `users_credentials_changed_at_index`;');
  }
}

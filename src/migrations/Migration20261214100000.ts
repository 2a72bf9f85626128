import { Migration } from '@mikro-orm/migrations';

/**
 * When an account's role or password was last changed by the operator (ADMIN_EMAIL/ADMIN_PASSWORD at
 * start): tokens issued before it may no longer use the ADMIN role. NULL for an account never changed.
 */
export class Migration20261214100000 extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `users` add `credentials_changed_at` datetime null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `users` drop column `credentials_changed_at`;');
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * `schedules.starts_at` to the millisecond, as `concerts.sales_open_at` is: a whole-second column
 * dropped what the admin sent past the second (MariaDB truncates, MySQL 8 rounds), so cancelling was
 * refused up to a second before the show began (or, rounded up, allowed up to half a second after).
 */
export class Migration20261215100000 extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `schedules` modify `starts_at` datetime(3) not null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `schedules` modify `starts_at` datetime not null;');
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * Reservations can be cancelled. A seat may then have many reservations over time, but still at most
 * one CONFIRMED: the unique index moves from seat_id to a generated column that is the seat_id while
 * CONFIRMED and NULL once CANCELLED (a unique index allows any number of NULLs). Existing rows become
 * CONFIRMED, so the new index holds exactly what the old one did. seat_id keeps a plain index for its
 * foreign key, which can no longer cascade updates (MySQL and MariaDB forbid that on a generated
 * column's base column); seat IDs never change, so nothing is lost.
 */
export class Migration20261210120000 extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `reservations` drop foreign key `reservations_seat_id_foreign`;');
    this.addSql("alter table `reservations` add `status` enum('CONFIRMED', 'CANCELLED') not null default 'CONFIRMED', add `cancelled_at` datetime null;");
    this.addSql("alter table `reservations` add `confirmed_seat_id` bigint unsigned generated always as (case when `status` = 'CONFIRMED' then `seat_id` end) stored;");
    this.addSql('alter table `reservations` add index `reservations_seat_id_index`(`seat_id`);');
    this.addSql('alter table `reservations` drop index `reservations_seat_id_unique`;');
    this.addSql('alter table `reservations` add unique `reservations_confirmed_seat_id_unique`(`confirmed_seat_id`);');
    this.addSql('alter table `reservations` add constraint `reservations_seat_id_foreign` foreign key (`seat_id`) references `seats` (`id`);');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `reservations` drop foreign key `reservations_seat_id_foreign`;');
    this.addSql('alter table `reservations` drop index `reservations_confirmed_seat_id_unique`;');
    this.addSql('alter table `reservations` add unique `reservations_seat_id_unique`(`seat_id`);');
    this.addSql('alter table `reservations` drop index `reservations_seat_id_index`;');
    this.addSql('alter table `reservations` drop column `confirmed_seat_id`, drop column `cancelled_at`, drop column `status`;');
    this.addSql('alter table `reservations` add constraint `reservations_seat_id_foreign` foreign key (`seat_id`) references `seats` (`id`) on update cascade;');
  }
}

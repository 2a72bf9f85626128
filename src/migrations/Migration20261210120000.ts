import { ResumableMigration } from './resumable-migration';

/**
 * Reservations can be cancelled. A seat may then have many reservations over time, but still at most
 * one CONFIRMED: the unique index moves from seat_id to a generated column that is the seat_id while
 * CONFIRMED and NULL once CANCELLED (a unique index allows any number of NULLs). Existing rows become
 * CONFIRMED, so the new index holds exactly what the old one did. seat_id keeps a plain index for its
 * foreign key, which can no longer cascade updates (MySQL and MariaDB forbid that on a generated
 * column's base column); seat IDs never change, so nothing is lost. Resumable: each step is taken only
 * if not done yet.
 */
export class Migration20261210120000 extends ResumableMigration {
  override async up(): Promise<void> {
    const table = 'reservations';
    const foreignKey = await this.foreignKeyUpdateRule(table, 'reservations_seat_id_foreign');
    // The old key cascades updates, which the generated column's base column may not have.
    if (foreignKey === 'CASCADE') this.addSql('alter table `reservations` drop foreign key `reservations_seat_id_foreign`;');
    if (!(await this.hasColumn(table, 'status'))) this.addSql("alter table `reservations` add `status` enum('CONFIRMED', 'CANCELLED') not null default 'CONFIRMED';");
    if (!(await this.hasColumn(table, 'cancelled_at'))) this.addSql('alter table `reservations` add `cancelled_at` datetime null;');
    if (!(await this.hasColumn(table, 'confirmed_seat_id'))) {
      this.addSql("alter table `reservations` add `confirmed_seat_id` bigint unsigned generated always as (case when `status` = 'CONFIRMED' then `seat_id` end) stored;");
    }
    if (!(await this.hasIndex(table, 'reservations_seat_id_index'))) this.addSql('alter table `reservations` add index `reservations_seat_id_index`(`seat_id`);');
    if (await this.hasIndex(table, 'reservations_seat_id_unique')) this.addSql('alter table `reservations` drop index `reservations_seat_id_unique`;');
    if (!(await this.hasIndex(table, 'reservations_confirmed_seat_id_unique'))) this.addSql('alter table `reservations` add unique `reservations_confirmed_seat_id_unique`(`confirmed_seat_id`);');
    if (foreignKey === undefined || foreignKey === 'CASCADE') {
      this.addSql('alter table `reservations` add constraint `reservations_seat_id_foreign` foreign key (`seat_id`) references `seats` (`id`);');
    }
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

import { ResumableMigration } from './resumable-migration';

/**
 * `schedules.price`: each schedule's seat price (one per schedule, given at creation), which the
 * concert list shows. Existing schedules take their seats' (the lowest, should they ever differ).
 */
export class Migration20261218100000 extends ResumableMigration {
  override async up(): Promise<void> {
    if (!(await this.hasColumn('schedules', 'price'))) {
      this.addSql('alter table `schedules` add `price` int unsigned not null default 0;');
    }
    this.addSql('update `schedules` sc set sc.`price` = coalesce((select min(s.`price`) from `seats` s where s.`schedule_id` = sc.`id`), 0);');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `schedules` drop column `price`;');
  }
}

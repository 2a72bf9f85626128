import { ResumableMigration } from './resumable-migration';

/**
 * `schedules.price`: each schedule's seat price (one per schedule, given at creation), which the
 * concert list shows. Existing schedules take their first seat's, one index lookup each (not a scan
 * of every seat). Nullable, with no default: a replica of the earlier version, still running during
 * a rolling upgrade, creates schedules without it, which must read as unknown, not as free.
 */
export class Migration20261218100000 extends ResumableMigration {
  override async up(): Promise<void> {
    if (!(await this.hasColumn('schedules', 'price'))) {
      this.addSql('alter table `schedules` add `price` int unsigned null;');
    }
    this.addSql(
      'update `schedules` sc set sc.`price` = (select s.`price` from `seats` s where s.`schedule_id` = sc.`id` order by s.`number` limit 1) where sc.`price` is null;',
    );
  }

  override async down(): Promise<void> {
    this.addSql('alter table `schedules` drop column `price`;');
  }
}

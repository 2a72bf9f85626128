import { ResumableMigration } from './resumable-migration';

/** `concerts.sales_open_at`: when the waiting room starts admitting (null: sales are open), to the millisecond. */
export class Migration20261210100000 extends ResumableMigration {
  override async up(): Promise<void> {
    if (!(await this.hasColumn('concerts', 'sales_open_at'))) this.addSql('alter table `concerts` add `sales_open_at` datetime(3) null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `concerts` drop column `sales_open_at`;');
  }
}

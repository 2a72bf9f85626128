import { Migration } from '@mikro-orm/migrations';

/**
 * A migration that may run again over its own partial work. MySQL cannot roll DDL back, and a
 * migration is recorded only once all its statements ran (transactional: false), so a start killed
 * in between (an orchestrator's kill during a long ALTER, an OOM) leaves some of them done and the
 * migration to run again from its first: each change is then sent only if the schema lacks it.
 */
export abstract class ResumableMigration extends Migration {
  protected async hasColumn(table: string, column: string): Promise<boolean> {
    const rows = await this.execute('select 1 from information_schema.columns where table_schema = database() and table_name = ? and column_name = ?', [table, column]);
    return rows.length > 0;
  }

  protected async hasIndex(table: string, index: string): Promise<boolean> {
    const rows = await this.execute('select 1 from information_schema.statistics where table_schema = database() and table_name = ? and index_name = ?', [table, index]);
    return rows.length > 0;
  }

  /** The foreign key's ON UPDATE rule (CASCADE, RESTRICT, NO ACTION…), or undefined when there is no such key. */
  protected async foreignKeyUpdateRule(table: string, name: string): Promise<string | undefined> {
    const [row] = await this.execute('select update_rule as rule from information_schema.referential_constraints where constraint_schema = database() and table_name = ? and constraint_name = ?', [table, name]);
    return row ? String(row.rule) : undefined;
  }
}

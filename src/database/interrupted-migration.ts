import type { MikroORM } from '@mikro-orm/mysql';

/**
 * MySQL cannot roll DDL back: a first start killed during the first migration (an orchestrator's kill,
 * an OOM, a second Ctrl-C) leaves some of its tables and no migration recorded, and every later start
 * then failed on "table already exists" until someone dropped the database by hand. Such a database
 * has never held data: when its migrations table is there and empty, and every other table is one of
 * ours and empty, those tables are dropped, and the migrations run again from the first. Returns the
 * tables dropped (none on any other database).
 */
export async function undoInterruptedFirstMigration(orm: MikroORM): Promise<string[]> {
  const connection = orm.em.getConnection();
  const rows = async (table: string) => Number((await connection.execute<{ n: number }[]>(`select count(*) as n from \`${table}\``))[0]?.n);
  const migrations = orm.config.get('migrations').tableName ?? 'mikro_orm_migrations';
  const tables = (await connection.execute<{ name: string }[]>('select table_name as name from information_schema.tables where table_schema = database()')).map((row) => row.name);
  if (!tables.includes(migrations) || (await rows(migrations)) > 0) return [];
  const ours = new Set(Object.values(orm.getMetadata().getAll()).map((meta) => meta.tableName));
  const left = tables.filter((table) => table !== migrations);
  if (left.length === 0 || !left.every((table) => ours.has(table))) return [];
  for (const table of left) if ((await rows(table)) > 0) return [];
  // Referencing tables must go first: each pass drops what no remaining table references.
  let remaining = left;
  while (remaining.length > 0) {
    const failed: string[] = [];
    for (const table of remaining) await connection.execute(`drop table \`${table}\``).catch(() => failed.push(table));
    if (failed.length === remaining.length) throw new Error(`could not drop the tables an interrupted first migration left: ${failed.join(', ')}`);
    remaining = failed;
  }
  return left;
}

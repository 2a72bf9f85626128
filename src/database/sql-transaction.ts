import type { MikroORM } from '@mikro-orm/mysql';

export interface RunResult {
  affectedRows: number;
  insertId: number;
}

/** Plain SQL inside one transaction. Errors are MikroORM's (UniqueConstraintViolationException, DeadlockException…). */
export interface Sql {
  run(query: string, params: readonly unknown[]): Promise<RunResult>;
  all<T>(query: string, params: readonly unknown[]): Promise<T[]>;
}

/**
 * Runs `work` in one transaction on MikroORM's own connection pool, below the EntityManager: no fork,
 * identity map, flush or async-context bookkeeping. Used where a transaction is a fixed handful of
 * statements written out as SQL (points, payments), and its cost per request matters.
 */
export function sqlTransaction<T>(orm: MikroORM, work: (sql: Sql) => Promise<T>): Promise<T> {
  const driver = orm.em.getDriver();
  return driver.getConnection().transactional((trx) =>
    work({
      // The driver, not the connection, converts errors into MikroORM's exception classes.
      run: (query, params) => driver.execute<RunResult>(query, [...params], 'run', trx),
      all: <R>(query: string, params: readonly unknown[]) => driver.execute<R[]>(query, [...params], 'all', trx),
    }),
  );
}

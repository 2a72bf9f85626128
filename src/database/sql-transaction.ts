import { DeadlockException, type MikroORM } from '@mikro-orm/mysql';
import { AppError, isUnavailable } from '../errors';
import { knexClient, type MysqlConnection } from './knex-client';

export interface RunResult {
  affectedRows: number;
  insertId: number;
}

/** Plain SQL inside one transaction. Errors are MikroORM's (UniqueConstraintViolationException, DeadlockException…). */
export interface Sql {
  run(query: string, params: readonly unknown[]): Promise<RunResult>;
  all<T>(query: string, params: readonly unknown[]): Promise<T[]>;
}

/** Sends statements on `connection` straight to mysql2, each told to the ORM's logger, errors converted as the ORM would. */
function sender(orm: MikroORM, connection: MysqlConnection): <R>(query: string, params: readonly unknown[]) => Promise<R> {
  const driver = orm.em.getDriver();
  const logger = orm.config.getLogger();
  return <R>(query: string, params: readonly unknown[]) => {
    logger.logQuery({ query, level: 'info' });
    return new Promise<R>((resolve, reject) =>
      connection.query(query, params, (error, result) => (error ? reject(driver.convertException(error)) : resolve(result as R))),
    );
  };
}

/**
 * Hands the connection back to the pool. The statement's outcome is the answer: a failure to hand it
 * back is logged, never thrown in its place.
 */
async function giveBack(orm: MikroORM, connection: MysqlConnection): Promise<void> {
  await knexClient(orm)
    .releaseConnection(connection)
    .catch((error: unknown) => orm.config.getLogger().warn('query', `could not return a connection to the pool: ${String(error)}`));
}

/**
 * One read outside any transaction, on the same direct path as sqlTransaction: the seat catalog's
 * reads and a cancellation's re-read, hot paths where knex's per-statement bookkeeping would cost
 * more than the statement.
 */
export async function sqlRead<T>(orm: MikroORM, query: string, params: readonly unknown[]): Promise<T[]> {
  const connection = await knexClient(orm).acquireConnection();
  try {
    return await sender(orm, connection)<T[]>(query, params);
  } finally {
    await giveBack(orm, connection);
  }
}

/**
 * Runs `work` in one transaction on a connection of MikroORM's own pool, sent straight to mysql2: no
 * EntityManager (fork, identity map, flush), and no knex either, whose bookkeeping (a knex instance
 * per transaction; a builder, runner and client-side formatting per statement) was about a tenth of
 * a cancellation's or payment's server CPU. What the ORM would still do is kept: its exception
 * classes, and every statement (BEGIN, COMMIT and ROLLBACK included) told to its logger, which counts
 * them (src/database/statement-counter.ts).
 */
export async function sqlTransaction<T>(orm: MikroORM, work: (sql: Sql) => Promise<T>): Promise<T> {
  const connection = await knexClient(orm).acquireConnection();
  const send = sender(orm, connection);
  // Idle again (no transaction left open), so it may go back to the pool.
  let idle = false;
  try {
    await send('begin', []);
    let result: T;
    try {
      result = await work({
        run: async (query, params) => {
          const { affectedRows, insertId } = await send<RunResult>(query, params);
          return { affectedRows, insertId: Number(insertId) };
        },
        all: (query, params) => send(query, params),
      });
    } catch (error) {
      // The caller hears why the work failed, not that the ROLLBACK failed too (the connection is
      // then closed below, and MySQL rolls back what it had).
      idle = await send('rollback', []).then(
        () => true,
        () => false,
      );
      throw error;
    }
    try {
      await send('commit', []);
    } catch (error) {
      throw new CommitUncertain(error);
    }
    idle = true;
    return result;
  } finally {
    // A connection whose BEGIN, COMMIT or ROLLBACK failed (lost, most likely) must not be handed out
    // again with a transaction possibly open: closed, the pool drops it (knex validates connections
    // on acquire), and MySQL rolls back what it had.
    if (!idle) connection.destroy();
    // The transaction's outcome (a COMMIT that happened, or why the work failed) stays the answer.
    await giveBack(orm, connection);
  }
}

/**
 * What a transaction whose outcome is unknown (its COMMIT unanswered) left behind, read once it has
 * ended: `lockingRead` (a SELECT … FOR UPDATE of the rows it wrote) waits on the locks those writes
 * hold, so what it finds is committed for good and what it misses was rolled back. While MySQL cannot
 * answer (or the transaction goes on past the lock wait) nobody can say yet: SERVICE_UNAVAILABLE
 * saying `unknownMessage`, how the caller finds out.
 */
export async function readSettled<T>(orm: MikroORM, lockingRead: string, params: readonly unknown[], unknownMessage: string): Promise<T[]> {
  try {
    return await sqlTransaction(orm, (sql) => sql.all<T>(lockingRead, params));
  } catch (error) {
    if (!isUnavailable(error)) throw error;
    throw new AppError('SERVICE_UNAVAILABLE', unknownMessage);
  }
}

/** The answer to a write whose COMMIT went unanswered and which, settled, turned out rolled back: `nothing` says what did not happen. */
export const nothingCommitted = (nothing: string) => new AppError('SERVICE_UNAVAILABLE', `The database did not answer in time: ${nothing} Please try again.`);

/**
 * COMMIT was sent and not answered (the connection was lost, MySQL stopped answering): the
 * transaction may have committed or not. Its cause says why (SERVICE_UNAVAILABLE unless the caller
 * finds out: PointsService.afterUnansweredCommit reads the outcome once it is final).
 */
export class CommitUncertain extends Error {
  constructor(cause: unknown) {
    super('MySQL did not confirm a COMMIT', { cause });
  }
}

/** Attempts in all for a transaction MySQL picks as a deadlock's victim (it rolled back whole, so it may simply run again). */
const DEADLOCK_ATTEMPTS = 3;

/**
 * sqlTransaction, run again when MySQL broke a deadlock by rolling it back. Chosen as the victim on
 * every attempt, it is contention (concurrent changes of the same rows), which passes:
 * SERVICE_UNAVAILABLE, to try again, like a row-lock wait that timed out. A deadlock elsewhere, in a
 * transaction not written to be retried, stays an unexpected error.
 */
export async function sqlTransactionRetryingDeadlocks<T>(orm: MikroORM, work: (sql: Sql) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sqlTransaction(orm, work);
    } catch (error) {
      if (!(error instanceof DeadlockException)) throw error;
      if (attempt < DEADLOCK_ATTEMPTS) continue;
      orm.config.getLogger().warn('query', `a transaction was a deadlock's victim ${DEADLOCK_ATTEMPTS} times in a row`);
      throw new AppError('SERVICE_UNAVAILABLE', 'Too many changes to the same records at once: please try again in a moment.');
    }
  }
}

import type { MikroORM } from '@mikro-orm/mysql';
import { knexClient, type MysqlConnection, type QueryCallback } from './knex-client';

const bounded = new WeakSet<MysqlConnection>();

/**
 * Every statement sent on `connection` fails after `timeoutMs` (mysql2's own `timeout`, "Query
 * inactivity timeout", which format-error answers as SERVICE_UNAVAILABLE), and the connection is then
 * closed: mysql2 would keep the unanswered statement at the head of its queue, and MySQL rolls back
 * the transaction of a connection that closed. MySQL notices a closed connection only once the
 * statement it runs ends, so a row-lock wait is ended by MySQL itself first: the session's
 * innodb_lock_wait_timeout is set a second below the bound (InnoDB's own default is 50 s), and its
 * error (ER_LOCK_WAIT_TIMEOUT) is SERVICE_UNAVAILABLE too.
 */
function bound(connection: MysqlConnection, timeoutMs: number): void {
  bounded.add(connection);
  const query = connection.query.bind(connection);
  connection.query = (options, values, callback) => {
    const spec = typeof options === 'string' ? { sql: options, timeout: timeoutMs } : { timeout: timeoutMs, ...options };
    const done = typeof values === 'function' ? (values as QueryCallback) : callback;
    const args = typeof values === 'function' ? undefined : values;
    if (!done) return query(spec, args);
    return query(spec, args, (error, ...results) => {
      if (error?.code === 'PROTOCOL_SEQUENCE_TIMEOUT') connection.destroy();
      done(error, ...results);
    });
  };
}

/** MySQL 8's answer to a variable it does not have (idle_transaction_timeout is MariaDB's). */
const ER_UNKNOWN_SYSTEM_VARIABLE = 1193;
/**
 * The shortest idle-transaction bound: above what a transaction may await between two statements, a
 * payment's check of its holds (two Redis commands in a row, 2 s each at their timeout), with margin.
 */
const MIN_IDLE_TRANSACTION_SECONDS = 10;

/**
 * From now on, no statement of the ORM's pool (its own queries, knex's, and sqlTransaction's) waits
 * on MySQL longer than `timeoutMs`: a MySQL that stops answering without closing its connections
 * (frozen, a network that drops packets) would otherwise hold each request until TCP gives up.
 * Installed after the migrations, whose statements may rightly take longer.
 *
 * The other way round, on MariaDB, a transaction left idle for twice that long is rolled back and
 * its session closed by MariaDB (idle_transaction_timeout): a replica frozen mid-transaction (a
 * pause, SIGSTOP), or cut off from MySQL with its close lost on the way (a partition), kept the
 * transaction's row locks, a fan's balance or a seat's reservation, until wait_timeout, 8 hours by
 * default. Between two statements of a transaction the service waits only on Redis (2 s a command)
 * and its own event loop: never less than MIN_IDLE_TRANSACTION_SECONDS, however short the statement
 * bound. MySQL 8 has no such bound.
 */
export function boundStatements(orm: MikroORM, timeoutMs: number): void {
  const client = knexClient(orm);
  const acquire = client.acquireConnection.bind(client);
  const lockWaitSeconds = Math.max(1, Math.ceil(timeoutMs / 1000) - 1);
  const idleSeconds = Math.max(MIN_IDLE_TRANSACTION_SECONDS, Math.ceil((2 * timeoutMs) / 1000));
  let idleBound = true;
  const set = (connection: MysqlConnection, sql: string, values: number[]) => new Promise<void>((resolve, reject) => connection.query(sql, values, (error) => (error ? reject(error) : resolve())));
  client.acquireConnection = async () => {
    const connection = await acquire();
    if (bounded.has(connection)) return connection;
    bound(connection, timeoutMs);
    try {
      // Bounded like any statement now; a connection that cannot take it is closed and given back,
      // so the pool drops it (knex validates on acquire) rather than lose the slot.
      if (idleBound) {
        try {
          await set(connection, 'SET SESSION innodb_lock_wait_timeout = ?, idle_transaction_timeout = ?', [lockWaitSeconds, idleSeconds]);
          return connection;
        } catch (error) {
          if ((error as { errno?: number }).errno !== ER_UNKNOWN_SYSTEM_VARIABLE) throw error;
          idleBound = false;
        }
      }
      await set(connection, 'SET SESSION innodb_lock_wait_timeout = ?', [lockWaitSeconds]);
    } catch (error) {
      connection.destroy();
      await client.releaseConnection(connection).catch(() => undefined);
      throw error;
    }
    return connection;
  };
}

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

/**
 * From now on, no statement of the ORM's pool (its own queries, knex's, and sqlTransaction's) waits
 * on MySQL longer than `timeoutMs`: a MySQL that stops answering without closing its connections
 * (frozen, a network that drops packets) would otherwise hold each request until TCP gives up.
 * Installed after the migrations, whose statements may rightly take longer.
 */
export function boundStatements(orm: MikroORM, timeoutMs: number): void {
  const client = knexClient(orm);
  const acquire = client.acquireConnection.bind(client);
  const lockWaitSeconds = Math.max(1, Math.ceil(timeoutMs / 1000) - 1);
  client.acquireConnection = async () => {
    const connection = await acquire();
    if (bounded.has(connection)) return connection;
    bound(connection, timeoutMs);
    try {
      // Bounded like any statement now; a connection that cannot take it is closed and given back,
      // so the pool drops it (knex validates on acquire) rather than lose the slot.
      await new Promise<void>((resolve, reject) => connection.query('SET SESSION innodb_lock_wait_timeout = ?', [lockWaitSeconds], (error) => (error ? reject(error) : resolve())));
    } catch (error) {
      connection.destroy();
      await client.releaseConnection(connection).catch(() => undefined);
      throw error;
    }
    return connection;
  };
}

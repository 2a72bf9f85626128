import type { MikroORM } from '@mikro-orm/mysql';

/** The MySQL named lock of this database's start-up (names are server-wide and at most 64 characters). */
const LOCK_NAME = "left(concat(database(), ':startup'), 64)";

/**
 * Runs `work` holding the database's start-up lock, so replicas starting together take turns instead of
 * racing the migrations and seeding. GET_LOCK belongs to a session, so it is taken and released on one
 * pinned connection (an open transaction is how the pool hands one out; it reads no table); if the process
 * dies, MySQL drops the session and the lock with it. `stop` aborting ends a wait for the lock.
 */
export async function withStartupLock<T>(orm: MikroORM, timeoutSeconds: number, work: () => Promise<T>, stop?: AbortSignal): Promise<T> {
  stop?.throwIfAborted();
  const connection = orm.em.getConnection();
  const session = await connection.begin();
  try {
    const [{ id } = { id: 0 }] = await connection.execute<{ id: number }[]>('select connection_id() as id', [], 'all', session);
    // A stop (SIGTERM) ends the wait for another replica's start-up: KILL QUERY, sent on another
    // connection, makes GET_LOCK return NULL. The work itself (migrations) is never interrupted.
    const endWait = () => void connection.execute(`kill query ${Number(id)}`).catch(() => undefined);
    stop?.addEventListener('abort', endWait, { once: true });
    let row: { acquired: number | null } | undefined;
    try {
      [row] = await connection.execute<{ acquired: number | null }[]>(`select get_lock(${LOCK_NAME}, ?) as acquired`, [timeoutSeconds], 'all', session);
    } finally {
      stop?.removeEventListener('abort', endWait);
    }
    if (Number(row?.acquired) !== 1) {
      stop?.throwIfAborted();
      throw new Error(`another process held the database's start-up lock for ${timeoutSeconds} s`);
    }
    try {
      return await work();
    } finally {
      await connection.execute(`select release_lock(${LOCK_NAME})`, [], 'all', session);
    }
  } finally {
    await connection.rollback(session);
  }
}

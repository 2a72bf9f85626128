import { createConnection, type Connection } from 'mysql2/promise';
import { expect, vi } from 'vitest';
import { TEST_MYSQL_ROOT } from './harness';

/** A second MySQL session holding the user's row lock, as a long transaction elsewhere would. */
export async function lockUserRow(database: string, userId: string): Promise<Connection> {
  const session = await createConnection(`${TEST_MYSQL_ROOT}/${database}`);
  await session.query('BEGIN');
  await session.query('SELECT id FROM users WHERE id = ? FOR UPDATE', [userId]);
  return session;
}

/**
 * Resolves once a statement beginning with `statement` runs in `database` (and waits for a lock): by
 * default a payment's debit or a cancellation's refund, waiting for the user's row.
 */
export async function untilLockWait(database: string, statement = 'UPDATE users SET points = LAST_INSERT_ID'): Promise<void> {
  const probe = await createConnection(TEST_MYSQL_ROOT);
  try {
    await vi.waitFor(
      async () => {
        const [rows] = await probe.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE CONCAT(?, '%')", [database, statement]);
        expect(Number((rows as { n: number }[])[0]?.n)).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 20 },
    );
  } finally {
    await probe.end();
  }
}

import type { MikroORM } from '@mikro-orm/mysql';
import { CommitUncertain, nothingCommitted, readSettled, sqlTransaction, type Sql } from '../database/sql-transaction';
import { accountGone, AppError, badInput } from '../errors';
import type { Account } from '../accounts/account';
import { PointTransaction, PointTransactionKind } from '../entities';
import { datetimeNow } from '../database/datetime';

export interface PointsSettings {
  maxCharge: number;
}

/** GraphQL's Int is 32-bit signed: a balance beyond it could not be shown. */
export const MAX_BALANCE = 2_147_483_647;
/** The longest pointHistory page: enough to check a busy account's ledger against its balance in one read. */
export const MAX_HISTORY = 1000;


/**
 * Balances and their ledger. Every change is one relative, conditional UPDATE of the user's row plus
 * a ledger row, in one transaction. The UPDATE takes the row's write lock and InnoDB keeps it to
 * commit, so concurrent charges and payments of one user run one after another on that row: none
 * is lost, `points >= ?` keeps the balance from going below zero, and the balance read back under
 * the lock is exactly the one after this change. (A lock in Redis released before the commit would
 * let a second writer read the old balance and overwrite the first.)
 */
export class PointsService {
  constructor(
    private readonly orm: MikroORM,
    private readonly settings: PointsSettings,
  ) {}

  /**
   * Adds `amount`. A COMMIT that goes unanswered may still have committed; the charge's ledger row,
   * whose ID the transaction knows, tells once the transaction has ended: charged (the answer is the
   * account as that charge left it), or not (SERVICE_UNAVAILABLE saying nothing was charged), never a
   * bare "try again" that would charge twice.
   */
  async charge(userId: number, amount: number): Promise<Account> {
    if (!Number.isInteger(amount) || amount < 1 || amount > this.settings.maxCharge) {
      throw badInput(`The amount must be a whole number from 1 to ${this.settings.maxCharge}.`);
    }
    let ledgerId = 0;
    try {
      return await sqlTransaction(this.orm, async (sql) => {
        const { affectedRows } = await sql.run('UPDATE users SET points = points + ? WHERE id = ? AND points <= ?', [amount, userId, MAX_BALANCE - amount]);
        // The UPDATE holds the row lock, so this is exactly the account after this charge.
        const [account] = await sql.all<Account>('SELECT id, email, role, points FROM users WHERE id = ?', [userId]);
        if (!account) throw accountGone();
        if (affectedRows === 0) throw badInput(`A balance cannot exceed ${MAX_BALANCE} points.`);
        ledgerId = await this.appendLedger(sql, userId, PointTransactionKind.CHARGE, amount, account.points);
        return { ...account, id: Number(account.id) };
      });
    } catch (error) {
      if (!(error instanceof CommitUncertain)) throw error;
      return await this.afterUnansweredCommit(
        userId,
        () => this.accountAfterCharge(userId, ledgerId),
        'The database did not confirm the charge in time: it may have gone through. Look at your points before charging again.',
        'nothing was charged.',
      );
    }
  }

  /** The account as the charge with this ledger row left it, if that row was committed. */
  private async accountAfterCharge(userId: number, ledgerId: number): Promise<Account | undefined> {
    const [account] = await this.orm.em
      .getConnection()
      .execute<Account[]>("SELECT u.id, u.email, u.role, t.balance AS points FROM point_transactions t JOIN users u ON u.id = t.user_id WHERE t.id = ? AND t.user_id = ? AND t.kind = 'CHARGE'", [ledgerId, userId]);
    return account && { ...account, id: Number(account.id) };
  }

  /**
   * What a charge, payment or cancellation of this user's whose COMMIT went unanswered did, read by
   * `read` once that transaction has ended: it held the user's row, so taking the row's lock waits
   * until it has committed or rolled back. No session ID to chase: one that MySQL restarted away, or
   * that a proxy renamed, is settled all the same. `read` finds what the transaction wrote; when it
   * finds nothing, SERVICE_UNAVAILABLE saying nothing changed. While MySQL cannot say (no lock within
   * its lock wait, a second under MYSQL_STATEMENT_TIMEOUT_MS, or no answer at all), SERVICE_UNAVAILABLE
   * saying `unknownMessage`: how the fan finds out.
   */
  async afterUnansweredCommit<T>(userId: number, read: () => Promise<T | null | undefined>, unknownMessage: string, nothingMessage: string): Promise<T> {
    let found: T | null | undefined;
    try {
      await readSettled(this.orm, 'SELECT id FROM users WHERE id = ? FOR UPDATE', [userId], unknownMessage);
      found = await read();
    } catch {
      throw new AppError('SERVICE_UNAVAILABLE', unknownMessage);
    }
    if (found === null || found === undefined) throw nothingCommitted(nothingMessage);
    return found;
  }

  /**
   * Takes `amount` inside the caller's transaction (a payment), or INSUFFICIENT_POINTS, and returns
   * the balance after it. The UPDATE takes the user's row lock until the transaction ends, so all of
   * one user's payments run one after another from here: identical twins queue on this row rather
   * than on the payment's unique index, where a rolled-back first one would deadlock the waiters.
   * LAST_INSERT_ID(expr) hands back the new balance without another statement.
   */
  async debit(sql: Sql, userId: number, amount: number): Promise<number> {
    const { affectedRows, insertId } = await sql.run('UPDATE users SET points = LAST_INSERT_ID(points - ?) WHERE id = ? AND points >= ?', [amount, userId, amount]);
    if (affectedRows === 0) throw new AppError('INSUFFICIENT_POINTS', `This costs ${amount} points, more than your balance: charge points first.`);
    return Number(insertId);
  }

  /**
   * The ledger row of a payment's debit, once the payment row exists. Free seats (price 0) move no
   * points, so they write none: a PAYMENT's amount is negative, as the contract has it.
   */
  async recordPayment(sql: Sql, userId: number, amount: number, balance: number, paymentId: number): Promise<void> {
    if (amount > 0) await this.appendLedger(sql, userId, PointTransactionKind.PAYMENT, -amount, balance, paymentId);
  }

  /**
   * Gives `amount` back inside the caller's transaction (a cancellation), with its REFUND ledger row
   * tied to the payment it came from; returns the balance after it. Like debit, the UPDATE holds the
   * user's row lock to commit, so the balance recorded is exactly the one after this refund. A free
   * seat's refund (0) writes no row, as its payment wrote none.
   */
  async refund(sql: Sql, userId: number, amount: number, paymentId: number): Promise<number> {
    const { affectedRows, insertId } = await sql.run('UPDATE users SET points = LAST_INSERT_ID(points + ?) WHERE id = ? AND points <= ?', [amount, userId, MAX_BALANCE - amount]);
    if (affectedRows === 0) throw badInput(`A balance cannot exceed ${MAX_BALANCE} points, and this refund would take it past that: spend some points first.`);
    const balance = Number(insertId);
    if (amount > 0) await this.appendLedger(sql, userId, PointTransactionKind.REFUND, amount, balance, paymentId);
    return balance;
  }

  /** Newest first. */
  history(userId: number, limit: number): Promise<PointTransaction[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY) throw badInput(`limit must be from 1 to ${MAX_HISTORY}.`);
    return this.orm.em.fork().find(PointTransaction, { user: userId }, { orderBy: { id: 'desc' }, limit });
  }

  /** Appends a ledger row; returns its ID. Its time is given (datetimeNow): the column's default is the server's local time. */
  private async appendLedger(sql: Sql, userId: number, kind: PointTransactionKind, amount: number, balance: number, paymentId?: number): Promise<number> {
    const createdAt = datetimeNow();
    const { insertId } = await sql.run('INSERT INTO point_transactions (user_id, kind, amount, balance, payment_id, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      userId,
      kind,
      amount,
      balance,
      paymentId ?? null,
      createdAt,
    ]);
    return insertId;
  }
}

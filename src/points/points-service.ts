import type { EntityManager, MikroORM } from '@mikro-orm/mysql';
import { AppError, badInput } from '../errors';
import { PointTransaction, PointTransactionKind, User } from '../entities';

export interface PointsSettings {
  maxCharge: number;
}

/** GraphQL's Int is 32-bit signed: a balance beyond it could not be shown. */
const MAX_BALANCE = 2_147_483_647;
const MAX_HISTORY = 100;

interface RunResult {
  affectedRows: number;
}

/**
 * Balances and their ledger. Every change is one relative, conditional UPDATE of the user's row plus
 * a ledger row, in one transaction. The UPDATE takes the row's write lock and InnoDB keeps it to
 * commit, so concurrent charges and payments of one user run one after another on that row: none
 * is lost, `points >= ?` keeps the balance from going below zero, and the balance read back under
 * the lock is exactly the one after this change. (The seed's Redis lock was released before its
 * transaction committed, so a second writer could read the old balance and overwrite the first.)
 */
export class PointsService {
  constructor(
    private readonly orm: MikroORM,
    private readonly settings: PointsSettings,
  ) {}

  async charge(userId: number, amount: number): Promise<User> {
    if (!Number.isInteger(amount) || amount < 1 || amount > this.settings.maxCharge) {
      throw badInput(`The amount must be a whole number from 1 to ${this.settings.maxCharge}.`);
    }
    return this.orm.em.fork().transactional(async (em) => {
      const { affectedRows } = await em.execute<RunResult>('UPDATE users SET points = points + ? WHERE id = ? AND points <= ?', [amount, userId, MAX_BALANCE - amount], 'run');
      if (affectedRows === 0) {
        if (!(await em.findOne(User, userId))) throw new AppError('UNAUTHENTICATED', 'This account no longer exists.');
        throw badInput(`A balance cannot exceed ${MAX_BALANCE} points.`);
      }
      // The UPDATE holds the row lock, so this is exactly the balance after this charge.
      await this.appendLedger(em, userId, PointTransactionKind.CHARGE, amount, await this.lockBalance(em, userId));
      return em.findOneOrFail(User, userId);
    });
  }

  /**
   * Takes the user's row lock inside the caller's transaction, until it ends, and returns the balance
   * under it. All of one user's payments then run one after another from this point, so identical
   * twins queue here rather than on the payment's unique index, where a rolled-back first one would
   * deadlock the waiters.
   */
  async lockBalance(em: EntityManager, userId: number): Promise<number> {
    const [row] = await em.execute<{ points: number }[]>('SELECT points FROM users WHERE id = ? FOR UPDATE', [userId]);
    return Number(row?.points);
  }

  /** INSUFFICIENT_POINTS unless the balance read under the lock covers the amount. */
  requireFunds(balance: number, amount: number): void {
    if (balance < amount) throw new AppError('INSUFFICIENT_POINTS', `This costs ${amount} points, more than your balance: charge points first.`);
  }

  /**
   * Takes `amount` from `balance`, read by lockBalance in this transaction (a payment), with its ledger
   * row; the `points >= ?` condition stays as a fence. Returns the balance after.
   */
  async debit(em: EntityManager, userId: number, amount: number, balance: number, paymentId: number): Promise<number> {
    const { affectedRows } = await em.execute<RunResult>('UPDATE users SET points = points - ? WHERE id = ? AND points >= ?', [amount, userId, amount], 'run');
    if (affectedRows === 0) this.requireFunds(0, amount);
    await this.appendLedger(em, userId, PointTransactionKind.PAYMENT, -amount, balance - amount, paymentId);
    return balance - amount;
  }

  /** Newest first. */
  history(userId: number, limit: number): Promise<PointTransaction[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY) throw badInput(`limit must be from 1 to ${MAX_HISTORY}.`);
    return this.orm.em.fork().find(PointTransaction, { user: userId }, { orderBy: { id: 'desc' }, limit });
  }

  private async appendLedger(em: EntityManager, userId: number, kind: PointTransactionKind, amount: number, balance: number, paymentId?: number): Promise<void> {
    await em.execute('INSERT INTO point_transactions (user_id, kind, amount, balance, payment_id) VALUES (?, ?, ?, ?, ?)', [userId, kind, amount, balance, paymentId ?? null], 'run');
  }
}

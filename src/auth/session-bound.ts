import { accountGone, AppError, credentialsChanged } from '../errors';
import { Interruptible } from '../streams/interruptible';
import { sharedNow } from '../redis/clock';

/** Sessions end on the second: a subscription may outlive its token by up to this. */
const SWEEP_MS = 1000;

const sessionExpired = () => new AppError('UNAUTHENTICATED', 'Your session has expired: log in again and subscribe anew.');

/** A subscription that lives no longer than the token it was opened with, nor its account (see SessionExpiries). */
class SessionBound<T> extends Interruptible<T> {
  constructor(
    source: AsyncIterator<T>,
    private readonly expiries: SessionExpiries,
    readonly dueSecond: number,
    readonly userId: number,
    /** The credentials its token was signed under (Session.credentialsAt). */
    readonly credentialsAt: number,
  ) {
    super(source);
  }

  protected override onClose(): void {
    this.expiries.forget(this);
  }
}

/**
 * Ends each subscription with UNAUTHENTICATED when the token it was opened with expires, as any
 * request with that token would; a queueStatus feed otherwise runs for as long as the socket stays
 * open. One timer for the whole process, sweeping the second that has come, rather than a timer per
 * subscription: a live fan costs a set entry, not a timer and its bookkeeping. The subscriptions of
 * an account found deleted are ended at once (endAccounts), as are those opened with a token older
 * than its account's last change of credentials (endOlderCredentials).
 */
export class SessionExpiries {
  private readonly due = new Map<number, Set<SessionBound<unknown>>>();
  private timer: NodeJS.Timeout | undefined;

  /** `source` of `userId`'s, opened with a token signed under `credentialsAt`, ended with UNAUTHENTICATED at `endsAt` (ms) at the latest. */
  bind<T>(source: AsyncIterator<T>, endsAt: number, userId: number, credentialsAt: number): AsyncIterableIterator<T> {
    const bound = new SessionBound(source, this, Math.ceil(endsAt / SWEEP_MS), userId, credentialsAt);
    if (endsAt <= sharedNow()) {
      bound.interrupt(sessionExpired());
      return bound;
    }
    const bucket = this.due.get(bound.dueSecond) ?? new Set();
    this.due.set(bound.dueSecond, bucket.add(bound as SessionBound<unknown>));
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), SWEEP_MS);
      this.timer.unref();
    }
    return bound;
  }

  /**
   * The accounts with a subscription open here. Walks them all (once per round of ExistingAccounts):
   * an index by account would cost every open subscription a set of its own, for a question asked
   * every few seconds.
   */
  users(): Set<number> {
    const users = new Set<number>();
    for (const bucket of this.due.values()) for (const bound of bucket) users.add(bound.userId);
    return users;
  }

  /** Ends every subscription of these accounts, which no longer exist. */
  endAccounts(userIds: ReadonlySet<number>): void {
    if (userIds.size > 0) this.end((bound) => userIds.has(bound.userId), accountGone);
  }

  /** Ends the subscriptions opened with a token signed under older credentials than its account's now (ms by account). */
  endOlderCredentials(changedAt: ReadonlyMap<number, number>): void {
    if (changedAt.size > 0) this.end((bound) => bound.credentialsAt < (changedAt.get(bound.userId) ?? 0), credentialsChanged);
  }

  private end(which: (bound: SessionBound<unknown>) => boolean, why: () => AppError): void {
    // Interrupting closes the stream, which forgets it: collect first.
    const ending = [...this.due.values()].flatMap((bucket) => [...bucket].filter(which));
    for (const bound of ending) bound.interrupt(why());
  }

  forget(bound: SessionBound<unknown>): void {
    const bucket = this.due.get(bound.dueSecond);
    if (!bucket?.delete(bound) || bucket.size > 0) return;
    this.due.delete(bound.dueSecond);
    if (this.due.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sweep(): void {
    const now = Math.floor(sharedNow() / SWEEP_MS);
    for (const [second, bucket] of this.due) {
      // Interrupting closes the stream, which forgets it: walk a copy.
      if (second <= now) for (const bound of [...bucket]) bound.interrupt(sessionExpired());
    }
  }
}

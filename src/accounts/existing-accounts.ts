import type { MikroORM } from '@mikro-orm/mysql';
import type { SessionExpiries } from '../auth/session-bound';
import type { TokenVerifier } from '../auth/tokens';
import { User } from '../entities';

/** Accounts asked about in one statement. */
const CHUNK = 1000;

/**
 * Which accounts were deleted, as MySQL says, for the operations that never read the account. A
 * token is valid for a day, and queueing, holding seats and following the line read no account:
 * without this, an account the operator deleted (a scalper's) would go on taking ACTIVE slots and
 * holding seats until its token expired. Every `sweepMs`, this process asks MySQL, in one statement
 * per thousand, which still exist of the accounts its operations named since the last round, of
 * those with a subscription open here, and of those it found gone (a row restored is let in again).
 * From then on those gone are refused, and their subscriptions end with UNAUTHENTICATED (an open
 * queueStatus feed is presence: it would keep the account's place). So a deleted account stops
 * working within about `sweepMs` on every replica. Each round also reads which accounts the operator
 * changed the credentials of (another replica started with a new ADMIN_EMAIL or ADMIN_PASSWORD): their
 * older tokens are refused here too from then on, and the subscriptions opened with them end.
 *
 * Off the request path: an operation costs two set lookups, not a read (an on-sale's fans mostly
 * make their first request once, and a read per new fan was a tenth of enterQueue's server time).
 * While MySQL does not answer, the accounts wait for the next sweep, and nothing else does.
 */
export class ExistingAccounts {
  private seen = new Set<number>();
  private readonly gone = new Set<number>();
  /** The credential changes as last read (ms by account). */
  private credentialsChangedAt = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly orm: MikroORM,
    private readonly sweepMs: number,
    private readonly sessions: SessionExpiries,
    private readonly tokens: TokenVerifier,
    private readonly capacity = 200_000,
  ) {}

  /**
   * When the operator last changed each account's credentials (ms, a few accounts: the admins), told
   * to the token check and to the open subscriptions. A failure is the caller's: at start it stops
   * the start, in a round it waits for the next.
   */
  async followCredentialChanges(): Promise<void> {
    const users = await this.orm.em.fork().find(User, { credentialsChangedAt: { $ne: null } }, { fields: ['id', 'credentialsChangedAt'] });
    const changes = new Map(users.flatMap((user) => (user.credentialsChangedAt ? [[user.id, user.credentialsChangedAt.getTime()] as const] : [])));
    this.tokens.refuseOlderCredentials(changes);
    // Only the changes new since the last read: a subscription opened since was checked against the others.
    this.sessions.endOlderCredentials(new Map([...changes].filter(([userId, at]) => this.credentialsChangedAt.get(userId) !== at)));
    this.credentialsChangedAt = changes;
  }

  start(): void {
    // One round at a time: a MySQL that stopped answering holds a round up to the statement timeout.
    let running = false;
    this.timer = setInterval(() => {
      if (running) return;
      running = true;
      void Promise.all([this.sweep(), this.followCredentialChanges().catch(() => undefined)]).finally(() => (running = false));
    }, this.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Whether MySQL has said this account no longer exists; remembers it for the next sweep if not. */
  isGone(userId: number): boolean {
    if (this.gone.has(userId)) return true;
    this.askNextRound(userId);
    return false;
  }

  private askNextRound(userId: number): void {
    if (this.seen.size < this.capacity) this.seen.add(userId);
  }

  /** Asks MySQL about the accounts to check (see the class comment); those it could not ask about wait for the next round. */
  private async sweep(): Promise<void> {
    const ids = [...new Set([...this.seen, ...this.sessions.users(), ...this.gone])];
    this.seen = new Set();
    for (let start = 0; start < ids.length; start += CHUNK) {
      const chunk = ids.slice(start, start + CHUNK);
      try {
        const rows = await this.orm.em.getConnection().execute<{ id: number }[]>(`select id from users where id in (${chunk.map(() => '?').join(',')})`, chunk);
        const found = new Set(rows.map((row) => Number(row.id)));
        const missing = new Set(chunk.filter((id) => !found.has(id)));
        for (const id of chunk) {
          if (missing.has(id)) this.markGone(id);
          else this.gone.delete(id);
        }
        this.sessions.endAccounts(missing);
      } catch {
        for (const id of ids.slice(start)) this.askNextRound(id);
        return;
      }
    }
  }

  /** Refused from now on; the oldest is let go when too many are kept. */
  private markGone(userId: number): void {
    if (this.gone.has(userId)) return;
    if (this.gone.size >= this.capacity) this.gone.delete(this.gone.values().next().value as number);
    this.gone.add(userId);
  }
}

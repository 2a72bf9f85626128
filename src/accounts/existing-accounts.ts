import type { MikroORM } from '@mikro-orm/mysql';

/** Accounts asked about in one statement. */
const CHUNK = 1000;

/**
 * Which accounts were deleted, as MySQL says, for the operations that never read the account. A
 * token is valid for a day, and queueing, holding seats and following the line read no account:
 * without this, an account the operator deleted (a scalper's) would go on taking ACTIVE slots and
 * holding seats until its token expired. Every `sweepMs`, this process asks MySQL, in one statement
 * per thousand, which of the accounts its operations named since the last sweep still exist; from
 * then on those gone are refused. So a deleted account's token stops working within about `sweepMs`
 * on every replica where it is used.
 *
 * Off the request path: an operation costs two set lookups, not a read (an on-sale's fans mostly
 * make their first request once, and a read per new fan was a tenth of enterQueue's server time).
 * While MySQL does not answer, the accounts wait for the next sweep, and nothing else does.
 */
export class ExistingAccounts {
  private seen = new Set<number>();
  private readonly gone = new Set<number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly orm: MikroORM,
    private readonly sweepMs: number,
    private readonly capacity = 200_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Whether MySQL has said this account no longer exists; remembers it for the next sweep if not. */
  isGone(userId: number): boolean {
    if (this.gone.has(userId)) return true;
    if (this.seen.size < this.capacity) this.seen.add(userId);
    return false;
  }

  /** Asks MySQL about the accounts seen since the last sweep; those it could not ask about wait for the next. */
  private async sweep(): Promise<void> {
    const ids = [...this.seen];
    this.seen = new Set();
    for (let start = 0; start < ids.length; start += CHUNK) {
      const chunk = ids.slice(start, start + CHUNK);
      try {
        const rows = await this.orm.em.getConnection().execute<{ id: number }[]>(`select id from users where id in (${chunk.map(() => '?').join(',')})`, chunk);
        const found = new Set(rows.map((row) => Number(row.id)));
        for (const id of chunk) if (!found.has(id)) this.markGone(id);
      } catch {
        for (const id of ids.slice(start)) this.isGone(id);
        return;
      }
    }
  }

  /** IDs are never reused, so a gone account stays gone; the oldest is let go when too many are kept. */
  private markGone(userId: number): void {
    if (this.gone.size >= this.capacity) this.gone.delete(this.gone.values().next().value as number);
    this.gone.add(userId);
  }
}

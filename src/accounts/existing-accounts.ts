import DataLoader from 'dataloader';
import type { MikroORM } from '@mikro-orm/mysql';

/** How long a first check may hold an operation up before it goes on unchecked (MySQL slow or away). */
const FIRST_CHECK_WAIT_MS = 500;

interface Known {
  exists: boolean;
  /** performance.now() of the answer. */
  at: number;
}

/**
 * Whether accounts still exist, as MySQL says, remembered by this process for `recheckMs`. A token
 * is valid for a day, and queueing, holding seats and following the line never read the account:
 * without this, an account the operator deleted (a scalper's) would go on taking ACTIVE slots and
 * holding seats until its token expired. With it, every operation with a token is refused within
 * `recheckMs` of the deletion. Cost: a map lookup per operation, and per account one primary-key
 * read per `recheckMs` (the reads of one moment batched into one statement).
 *
 * The queue and holds live in Redis and keep working while MySQL is away, and so does this: an
 * account known before keeps its last answer until MySQL answers again (a stale answer is served at
 * once and refreshed behind it); one never seen goes on unchecked after FIRST_CHECK_WAIT_MS.
 */
export class ExistingAccounts {
  private readonly known = new Map<number, Known>();
  private readonly checking = new Map<number, Promise<boolean>>();
  private readonly reads: DataLoader<number, boolean>;

  constructor(
    orm: MikroORM,
    private readonly recheckMs: number,
    private readonly capacity = 100_000,
  ) {
    this.reads = new DataLoader<number, boolean>(
      async (ids) => {
        const rows = await orm.em.getConnection().execute<{ id: number }[]>(`select id from users where id in (${ids.map(() => '?').join(',')})`, [...ids]);
        const found = new Set(rows.map((row) => Number(row.id)));
        return ids.map((id) => found.has(id));
      },
      { cache: false, maxBatchSize: 500 },
    );
  }

  /** False once MySQL has said the account is gone (see the class comment for when it has not answered). */
  async exists(userId: number): Promise<boolean> {
    const known = this.known.get(userId);
    if (known && performance.now() - known.at < this.recheckMs) return known.exists;
    const check = this.check(userId);
    if (known) return known.exists;
    return Promise.race([check, new Promise<boolean>((resolve) => setTimeout(resolve, FIRST_CHECK_WAIT_MS, true).unref())]);
  }

  /** One read per account at a time; its answer is remembered, a failure forgotten (true: unchecked). */
  private check(userId: number): Promise<boolean> {
    const running = this.checking.get(userId);
    if (running) return running;
    const check = this.reads
      .load(userId)
      .then((exists) => {
        this.remember(userId, exists);
        return exists;
      })
      .catch(() => this.known.get(userId)?.exists ?? true)
      .finally(() => this.checking.delete(userId));
    this.checking.set(userId, check);
    return check;
  }

  private remember(userId: number, exists: boolean): void {
    this.known.delete(userId);
    // Oldest first out: a map keeps insertion order, and a remembered account is inserted anew.
    if (this.known.size >= this.capacity) this.known.delete(this.known.keys().next().value as number);
    this.known.set(userId, { exists, at: performance.now() });
  }
}

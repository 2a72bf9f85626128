import { performance } from 'node:perf_hooks';
import type { RedisClient } from '../redis';
import type { Counter } from 'prom-client';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { isUnanswered, NotAsked } from '../errors';

/** The limits a refusal is counted under (metric label `limit`). */
export type LimitName = 'account' | 'ip' | 'login_email' | 'login_ip' | 'sockets' | 'socket_operations';

/** What a counter says about one more event: allowed, or refused until `retryAfterSeconds`. */
export type Verdict = { allowed: true } | { allowed: false; limit: LimitName; retryAfterSeconds: number };

export const ALLOWED: Verdict = { allowed: true };

/** Whole seconds, at least 1, until the window ends. */
const retryAfter = (msBeforeNext: number) => Math.max(1, Math.ceil(msBeforeNext / 1000));

/** rate-limiter-flexible's in-memory block (inMemoryBlockOnConsumed), read without a Redis command; not in its typings. */
interface InMemoryBlocks {
  getInMemoryBlockMsBeforeExpire(rlKey: string): number;
}

/** While Redis is silent, how often one count asks it again (the others are not asked meanwhile). */
const SILENT_RETRY_MS = 1000;

/**
 * What the counts of one process know of a single Redis that left a count unanswered (frozen, a
 * stalled network): until it answers again, one count a second asks it, and the others are not
 * asked. Each would wait the command timeout (2 s) for nothing and then be decided as it is now at
 * once: allowed (operations), or refused with SERVICE_UNAVAILABLE (sign-ins). A request that needs
 * only MySQL then answers at once, one that needs Redis waits for its own command alone. Not for a
 * Cluster: one node's silence says nothing of the keys on the others.
 */
export class SilentRedis {
  private silent = false;
  private nextAskAt = 0;

  /** Whether a count asks Redis now: always while it answers; while silent, one a second. */
  mayAsk(): boolean {
    if (!this.silent) return true;
    // A monotonic clock: a wall clock stepped back would keep counts from asking for that long.
    const now = performance.now();
    if (now < this.nextAskAt) return false;
    this.nextAskAt = now + SILENT_RETRY_MS;
    return true;
  }

  /** Whether Redis answered the last count asked (a giveBack is not worth a trial). */
  get answering(): boolean {
    return !this.silent;
  }

  answered(): void {
    this.silent = false;
  }

  unanswered(): void {
    if (this.silent) return;
    this.silent = true;
    this.nextAskAt = performance.now() + SILENT_RETRY_MS;
  }
}

/**
 * Events per key per fixed window, counted in Redis (rate-limiter-flexible's RateLimiterRedis: one
 * EVALSHA per event, INCRBY with the window as TTL), so every replica shares the count. It runs on the
 * app's auto-pipelining connection: the checks of one tick (an account's and an IP's) go out in one write.
 * `max` 0 means no limit: nothing is counted.
 */
export class WindowCounter {
  private readonly limiter?: RateLimiterRedis & InMemoryBlocks;

  constructor(
    redis: RedisClient,
    readonly name: LimitName,
    /** Full key prefix from redisKeys(); rate-limiter-flexible appends `:<id>`. */
    keyPrefix: string,
    readonly max: number,
    windowSeconds: number,
    private readonly refusals: Counter<'limit'>,
    /**
     * Once a key is over its limit, this process refuses it from memory until its window ends: a
     * client hammering after its refusal costs no Redis command. Not for a count whose events may be
     * given back (giveBack does not lift that block): sign-ins in flight that then succeed would
     * leave their address blocked for the whole window.
     */
    blockInMemory = true,
    /** Shared by the counts on one Redis server; none on a Cluster. */
    private readonly silence?: SilentRedis,
  ) {
    if (max === 0) return;
    const limiter: RateLimiterRedis & Partial<InMemoryBlocks> = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points: max,
      duration: windowSeconds,
      ...(blockInMemory ? { inMemoryBlockOnConsumed: max + 1 } : {}),
    });
    // Checked here, so that a version of the library without it fails at start, not on a frozen Redis.
    if (typeof limiter.getInMemoryBlockMsBeforeExpire !== 'function') throw new Error('rate-limiter-flexible no longer has getInMemoryBlockMsBeforeExpire');
    this.limiter = limiter as RateLimiterRedis & InMemoryBlocks;
  }

  /**
   * Counts one event. When Redis cannot be reached the event is allowed: the limit cannot be judged,
   * and an operation that needs Redis fails with SERVICE_UNAVAILABLE by itself.
   */
  async consume(id: string): Promise<Verdict> {
    try {
      return await this.consumeOrFail(id);
    } catch {
      return ALLOWED;
    }
  }

  /**
   * Counts one event; when Redis cannot be reached, throws (SERVICE_UNAVAILABLE) rather than allow
   * it: for a limit that must hold whatever else works, such as sign-in attempts, which need only MySQL.
   */
  async consumeOrFail(id: string): Promise<Verdict> {
    if (!this.limiter) return ALLOWED;
    // A key blocked in memory is refused from there, whether Redis answers or not: that refusal asks
    // Redis nothing, so it says nothing of Redis either.
    const blockedMs = this.limiter.getInMemoryBlockMsBeforeExpire(this.limiter.getKey(id));
    if (blockedMs > 0) return this.refused(blockedMs);
    if (this.silence && !this.silence.mayAsk()) throw new NotAsked('Redis left a count unanswered moments ago: not asked again yet');
    try {
      await this.limiter.consume(id);
      this.silence?.answered();
      return ALLOWED;
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) {
        if (isUnanswered(error)) this.silence?.unanswered();
        throw error;
      }
      this.silence?.answered();
      return this.refused(error.msBeforeNext);
    }
  }

  private refused(msBeforeNext: number): Verdict {
    this.refusals.inc({ limit: this.name });
    return { allowed: false, limit: this.name, retryAfterSeconds: retryAfter(msBeforeNext) };
  }

  /**
   * Gives one event back (one that should not count: a success that is no failed attempt, an
   * operation another limit refused). Not while Redis is silent: the point lapses with its window.
   */
  async giveBack(id: string): Promise<void> {
    if (this.silence?.answering === false) return;
    await this.limiter?.reward(id, 1).catch(() => undefined);
  }

  async reset(id: string): Promise<void> {
    if (this.silence?.answering === false) return;
    await this.limiter?.delete(id).catch(() => undefined);
  }
}

import { performance } from 'node:perf_hooks';
import { runScript, type RedisClient } from '../redis';
import type { Counter } from 'prom-client';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { COUNT_BOTH, GIVE_BACK, REFUSED_BY_FIRST, REFUSED_BY_SECOND } from '../redis/limit-scripts';
import { isUnanswered, NotAsked } from '../errors';

/** The limits a refusal is counted under (metric label `limit`). */
export type LimitName = 'account' | 'ip' | 'login_email' | 'login_ip' | 'sign_up_ip' | 'sockets' | 'socket_operations' | 'seat_maps';

/** What a counter says about one more event: allowed, or refused until `retryAfterSeconds`. */
export type Verdict = { allowed: true } | { allowed: false; limit: LimitName; retryAfterSeconds: number };

export const ALLOWED: Verdict = { allowed: true };

/** Whole seconds, at least 1, until the window ends. */
const retryAfter = (msBeforeNext: number) => Math.max(1, Math.ceil(msBeforeNext / 1000));

/** While Redis is silent, how often a PING asks whether it answers again. */
const SILENT_RETRY_MS = 1000;

/**
 * What the counts of one process know of a single Redis that left a count unanswered (frozen, a
 * stalled network): until it answers again, no count asks it, and each is decided as it is now at
 * once: allowed (operations), or refused with SERVICE_UNAVAILABLE (sign-ins); each would wait the
 * command timeout (2 s) for nothing. Meanwhile a PING a second, which nothing waits for, finds out
 * when Redis is back (a count asking instead kept a request waiting 2 s every second: at a quiet
 * moment, every request). A request that needs only MySQL then answers at once, one that needs Redis
 * waits for its own command alone. Not for a Cluster: one node's silence says nothing of the keys on
 * the others.
 */
export class SilentRedis {
  private silent = false;
  private nextProbeAt = 0;
  private probing = false;

  constructor(private readonly redis: RedisClient) {}

  /** While silent, sends a PING unless one is on its way or went out within the last second. */
  probe(): void {
    // A monotonic clock: a wall clock stepped back would keep the PING from going out for that long.
    if (!this.silent || this.probing || performance.now() < this.nextProbeAt) return;
    this.probing = true;
    this.redis
      .ping()
      .then(
        () => this.answered(),
        () => undefined,
      )
      .finally(() => {
        this.probing = false;
        this.nextProbeAt = performance.now() + SILENT_RETRY_MS;
      });
  }

  /** Whether Redis answered the last count asked (a giveBack is not worth a trial). */
  get answering(): boolean {
    return !this.silent;
  }

  answered(): void {
    this.silent = false;
  }

  unanswered(): void {
    this.silent = true;
  }
}

/** A map from key to when its block ends grows no larger than this before its ended blocks are swept. */
const BLOCKS_SWEPT_AT = 10_000;

/** Keys refused until their window ends, remembered in this process so a refused client's retries cost no Redis command. */
class MemoryBlocks {
  private readonly until = new Map<string, number>();

  /** The ms left in the key's block, 0 if none. */
  msLeft(key: string): number {
    const until = this.until.get(key);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left > 0) return left;
    this.until.delete(key);
    return 0;
  }

  block(key: string, ms: number): void {
    if (this.until.size >= BLOCKS_SWEPT_AT) {
      const now = Date.now();
      for (const [blocked, until] of this.until) if (until <= now) this.until.delete(blocked);
    }
    this.until.set(key, Date.now() + ms);
  }
}

/**
 * Events per key per fixed window, counted in Redis (rate-limiter-flexible's RateLimiterRedis: one
 * EVALSHA per event, INCRBY with the window as TTL), so every replica shares the count. It runs on the
 * app's auto-pipelining connection. `max` 0 means no limit: nothing is counted.
 */
export class WindowCounter {
  private readonly limiter?: RateLimiterRedis;
  private readonly blocks?: MemoryBlocks;

  constructor(
    private readonly redis: RedisClient,
    readonly name: LimitName,
    /** Full key prefix from redisKeys(); rate-limiter-flexible appends `:<id>`. */
    keyPrefix: string,
    readonly max: number,
    private readonly windowSeconds: number,
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
    this.limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix, points: max, duration: windowSeconds });
    if (blockInMemory) this.blocks = new MemoryBlocks();
  }

  /**
   * Counts one event, weighing `points`. When Redis cannot be reached the event is allowed: the limit
   * cannot be judged, and an operation that needs Redis fails with SERVICE_UNAVAILABLE by itself.
   */
  async consume(id: string, points = 1): Promise<Verdict> {
    try {
      return await this.consumeOrFail(id, points);
    } catch {
      return ALLOWED;
    }
  }

  /**
   * Counts one event; when Redis cannot be reached, throws (SERVICE_UNAVAILABLE) rather than allow
   * it: for a limit that must hold whatever else works, such as sign-ins, which need only MySQL.
   */
  async consumeOrFail(id: string, points = 1): Promise<Verdict> {
    const limiter = this.limiter;
    if (!limiter) return ALLOWED;
    const blocked = this.refusedFromMemory(id);
    if (blocked) return blocked;
    const refusedMs = await this.ask(() =>
      limiter.consume(id, points).then(
        () => 0,
        (error: unknown) => {
          if (error instanceof RateLimiterRes) return Math.max(1, error.msBeforeNext);
          throw error;
        },
      ),
    );
    return refusedMs === 0 ? ALLOWED : this.refused(id, refusedMs);
  }

  /**
   * Counts one event for `id` here and, only if this count allows it, one for `nextId` on `next`, in
   * one Redis command (both counts on this counter's single server, not a Cluster, which spreads
   * their keys over nodes); an event `next` refuses gives this count its point back. A key refused
   * from memory is not counted at all. Redis not answering: throws, as consumeOrFail.
   */
  async consumeThen(id: string, next: WindowCounter, nextId: string): Promise<Verdict> {
    if (!this.limiter) return next.consumeOrFail(nextId);
    if (!next.limiter) return this.consumeOrFail(id);
    const blocked = this.refusedFromMemory(id) ?? next.refusedFromMemory(nextId);
    if (blocked) return blocked;
    const keys = { first: this.limiter.getKey(id), second: next.limiter.getKey(nextId) };
    const [refusedBy, msLeft] = await this.ask(() => runScript(this.redis, COUNT_BOTH, keys, this.max, this.windowSeconds, next.max, next.windowSeconds));
    if (refusedBy === REFUSED_BY_FIRST) return this.refused(id, msLeft);
    if (refusedBy === REFUSED_BY_SECOND) return next.refused(nextId, msLeft);
    return ALLOWED;
  }

  /** The refusal of a key blocked in memory: it asks Redis nothing, so it says nothing of Redis either. */
  private refusedFromMemory(id: string): Verdict | undefined {
    const ms = this.blocks?.msLeft(id) ?? 0;
    return ms > 0 ? this.verdict(ms) : undefined;
  }

  /** Redis's answer to a count, told to the silence watch; not asked while Redis is known silent. */
  private async ask<T>(command: () => Promise<T>): Promise<T> {
    if (this.silence && !this.silence.answering) {
      this.silence.probe();
      throw new NotAsked('Redis left a count unanswered moments ago: not asked until it answers again');
    }
    try {
      const answer = await command();
      this.silence?.answered();
      return answer;
    } catch (error) {
      if (isUnanswered(error)) this.silence?.unanswered();
      throw error;
    }
  }

  private refused(id: string, msBeforeNext: number): Verdict {
    this.blocks?.block(id, msBeforeNext);
    return this.verdict(msBeforeNext);
  }

  private verdict(msBeforeNext: number): Verdict {
    this.refusals.inc({ limit: this.name });
    return { allowed: false, limit: this.name, retryAfterSeconds: retryAfter(msBeforeNext) };
  }

  /**
   * Gives one event back (one that should not count: a success that is no failed attempt, an
   * operation another limit refused). Not while Redis is silent: the point lapses with its window.
   */
  async giveBack(id: string): Promise<void> {
    if (this.silence?.answering === false || !this.limiter) return;
    try {
      await runScript(this.redis, GIVE_BACK, { count: this.limiter.getKey(id) });
    } catch {
      // Not given back: the event lapses with its window.
    }
  }

  async reset(id: string): Promise<void> {
    if (this.silence?.answering === false) return;
    await this.limiter?.delete(id).catch(() => undefined);
  }
}

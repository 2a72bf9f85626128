import { randomBytes } from 'node:crypto';
import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import type { MikroORM } from '@mikro-orm/mysql';
import type { RedisClient } from '../../src/redis';
import { openDatabase, queueSettings } from '../../src/app';
import { hashPassword } from '../../src/auth/passwords';
import { signToken, tokenKey } from '../../src/auth/tokens';
import { ConcertService } from '../../src/concerts/concert-service';
import { loadConfig, type Config } from '../../src/config';
import { Role } from '../../src/entities';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/observability/metrics';
import { InventoryService } from '../../src/inventory/inventory-service';
import { QueueService } from '../../src/queue/queue-service';
import { SeatCatalog } from '../../src/seats/seat-catalog';
import { createRedis, redisDatabase, redisKeys, redisReady, type RedisKeys } from '../../src/redis';
import { dropDatabase, LOCAL_MYSQL_ROOT, LOCAL_REDIS_URL, sandboxEnv, wipeRedisKeys } from '../../support/sandbox';

/** Where the bench runs: its own database and Redis key prefix, never the app's or the tests'. */
const MYSQL_ROOT = process.env.BENCH_MYSQL_URL ?? LOCAL_MYSQL_ROOT;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? LOCAL_REDIS_URL;
const BENCH_DATABASE = 'bench_concert';
const BENCH_PREFIX = 'bench';
/** Drawn per run: production refuses a secret published in the repository. */
const JWT_SECRET = randomBytes(32).toString('base64url');
const PASSWORD = 'bench-password';

/** Environment of a server under test (child process) and of the bench's own control plane. */
export function serverEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    // As the Docker image runs it: libraries take their production paths (graphql-js's instanceOf
    // checks, for one, cost a queueStatus request microseconds in development).
    NODE_ENV: 'production',
    ...sandboxEnv({ mysqlRoot: MYSQL_ROOT, database: BENCH_DATABASE, redisUrl: REDIS_URL, redisPrefix: BENCH_PREFIX }),
    JWT_SECRET,
    // Production's floor; bench users are made in SQL with one hash, and no sign-in is measured.
    PASSWORD_HASH_COST: '15',
    LOG_LEVEL: 'warn',
    // Ticks happen when a scenario calls QueueService.admitTick(), never on a timer.
    RUN_WORKERS: 'false',
    // Every load generator request comes from 127.0.0.1: the per-IP limit is raised out of reach
    // (it still counts every request, so its cost is measured); the per-account limit keeps its default.
    RATE_LIMIT_IP_PER_MINUTE: '1000000000',
    ...overrides,
  };
}

/** Outside the `bench:` prefix (which every run wipes): the pid of the bench run in progress. */
const LOCK_KEY = 'bench-lock';

/**
 * Two bench runs at once would drop each other's database and queues mid-measurement, so a run
 * takes a lock in Redis first; a lock left by a process that no longer exists is taken over.
 */
async function takeLock(): Promise<void> {
  const redis = createRedis({ url: REDIS_URL }, { enableOfflineQueue: true });
  try {
    await redisReady(redis);
    for (;;) {
      if ((await redis.set(LOCK_KEY, String(process.pid), 'PX', 30 * 60_000, 'NX')) === 'OK') return;
      const holder = Number(await redis.get(LOCK_KEY));
      let alive = false;
      try {
        process.kill(holder, 0);
        alive = holder > 0;
      } catch {
        alive = false;
      }
      if (alive) throw new Error(`another bench run (pid ${holder}) is in progress; wait for it (or: redis-cli del ${LOCK_KEY})`);
      await redis.del(LOCK_KEY);
    }
  } finally {
    redis.disconnect();
  }
}

export interface BenchUser {
  id: number;
  token: string;
}

/**
 * The bench's control plane: the same services the server uses (ConcertService, QueueService on
 * the same database and Redis prefix), for setup and for triggering admission ticks, plus a
 * mysql2 pool for bulk setup SQL and the raw-SQL payment baseline.
 */
export class Control {
  readonly keys: RedisKeys;
  private readonly pool: BenchUser[] = [];
  /** The one password hash every bench user gets (made once: at production's cost it takes seconds). */
  private passwordHash?: string;

  private constructor(
    readonly config: Config,
    readonly orm: MikroORM,
    readonly redis: RedisClient,
    readonly sql: Pool,
    readonly concerts: ConcertService,
    readonly queue: QueueService,
  ) {
    this.keys = redisKeys(config.redisPrefix, redisDatabase(config.redis));
  }

  /** Drops and recreates the bench database (migrated) and deletes every bench Redis key. */
  static async open(): Promise<Control> {
    await takeLock();
    await dropDatabase(serverEnv());
    const config = loadConfig(serverEnv());
    const orm = await openDatabase(config);
    const redis = createRedis(config.redis, { enableOfflineQueue: true, maxRetriesPerRequest: 3 });
    await redisReady(redis);
    // As large as the ORM's pool (mikro-orm.config.ts: max 20), so the raw baseline gets no more connections than the app.
    const sql = createPool({ uri: config.databaseUrl, connectionLimit: 20, timezone: 'Z' });
    const concerts = new ConcertService(orm);
    const logger = createLogger(config.logLevel);
    const keys = redisKeys(config.redisPrefix, redisDatabase(config.redis));
    const inventory = new InventoryService(redis, keys, new SeatCatalog(orm), concerts, logger);
    // The bench ticks by hand, with its own set-up between ticks: never a line left unattended.
    const queue = new QueueService(redis, keys, concerts, inventory, createMetrics(), { ...queueSettings(config), unattendedAfterMs: 3_600_000 }, logger);
    const control = new Control(config, orm, redis, sql, concerts, queue);
    await control.resetRedis();
    return control;
  }

  /** Deletes every key under the bench prefix (each scenario starts from an empty waiting room). */
  resetRedis(): Promise<void> {
    return wipeRedisKeys(this.redis, BENCH_PREFIX);
  }

  /**
   * The first `count` bench users (created on demand, straight in SQL with one precomputed password
   * hash, since sign-up speed is not what is measured), each with a signed token.
   */
  async users(count: number, from = 0): Promise<BenchUser[]> {
    const needed = from + count - this.pool.length;
    if (needed > 0) {
      this.passwordHash ??= await hashPassword(PASSWORD, this.config.passwordHashCost);
      const passwordHash = this.passwordHash;
      const start = this.pool.length;
      for (let i = 0; i < needed; i += 2000) {
        const rows = Array.from({ length: Math.min(2000, needed - i) }, (_, j) => [`fan-${start + i + j}@bench.test`, passwordHash]);
        await this.sql.query('INSERT INTO users (email, password_hash) VALUES ?', [rows]);
      }
      const [found] = await this.sql.query<RowDataPacket[]>("SELECT id, email FROM users WHERE email LIKE 'fan-%@bench.test'");
      const ids = new Map(found.map((r) => [String(r.email), Number(r.id)]));
      for (let i = start; i < start + needed; i++) {
        const id = ids.get(`fan-${i}@bench.test`);
        if (!id) throw new Error(`bench user ${i} was not created`);
        this.pool.push({ id, token: signToken({ id, role: Role.USER }, 0, tokenKey(this.config.jwtSecret), this.config.jwtTtlSeconds) });
      }
    }
    return this.pool.slice(from, from + count);
  }

  /** A concert with one schedule of `seats` seats; returns its id, the schedule id and the seat ids in order. */
  async concert(maxActiveUsers: number, seats = 1, price = 100): Promise<{ concertId: number; scheduleId: number; seatIds: number[] }> {
    const concert = await this.concerts.create({
      title: 'Bench Concert',
      venue: 'Loopback Arena',
      maxActiveUsers,
      schedules: [{ startsAt: new Date(Date.UTC(2031, 0, 1, 19)), seatCount: seats, price }],
    });
    const [schedule] = await this.concerts.schedulesOf(concert.id);
    if (!schedule) throw new Error('concert created without a schedule');
    const [rows] = await this.sql.query<RowDataPacket[]>('SELECT id FROM seats WHERE schedule_id = ? ORDER BY number', [schedule.id]);
    return { concertId: concert.id, scheduleId: schedule.id, seatIds: rows.map((r) => Number(r.id)) };
  }

  /**
   * Puts members at the back of a concert's wait queue straight in Redis, exactly as the enter
   * script does (ticket = INCR of the concert's counter), in pipelined batches of 1,000. With
   * `seenAt`, each member's last sign of presence (ms, by index in `members`) goes into `seen` too.
   */
  async fillWaiting(concertId: number, members: readonly (number | string)[], seenAt?: (index: number) => number): Promise<void> {
    if (members.length === 0) return;
    const k = this.keys.queue(concertId);
    const last = await this.redis.incrby(k.seq, members.length);
    let ticket = last - members.length + 1;
    const BATCH = 1000;
    const PIPELINE = 100;
    for (let i = 0; i < members.length; i += BATCH * PIPELINE) {
      const pipeline = this.redis.pipeline();
      for (let j = i; j < Math.min(members.length, i + BATCH * PIPELINE); j += BATCH) {
        const args: (string | number)[] = [];
        for (const member of members.slice(j, j + BATCH)) args.push(ticket++, member);
        pipeline.zadd(k.wait, ...args);
        if (seenAt) {
          const seen: (string | number)[] = [];
          members.slice(j, j + BATCH).forEach((member, offset) => seen.push(seenAt(j + offset), member));
          pipeline.zadd(k.seen, ...seen);
        }
      }
      const results = (await pipeline.exec()) ?? [];
      for (const [error] of results) if (error) throw error;
    }
    await this.redis.sadd(this.keys.queueIndex, concertId);
  }

  /** Enters the users and runs admission ticks until none of them waits (capacity permitting). */
  async admit(concertId: number, userIds: readonly number[]): Promise<void> {
    await this.fillWaiting(concertId, userIds);
    for (let i = 0; i < 100; i++) {
      await this.queue.admitTick();
      if ((await this.redis.zcard(this.keys.queue(concertId).wait)) === 0) return;
    }
    throw new Error('admission did not drain the queue: is maxActiveUsers large enough?');
  }

  /** Credits points straight in SQL with a matching CHARGE ledger row (for the raw-SQL baseline's own users). */
  async creditRaw(userIds: readonly number[], amount: number): Promise<void> {
    for (let i = 0; i < userIds.length; i += 1000) {
      const ids = userIds.slice(i, i + 1000);
      await this.sql.query('UPDATE users SET points = points + ? WHERE id IN (?)', [amount, ids]);
      const [rows] = await this.sql.query<RowDataPacket[]>('SELECT id, points FROM users WHERE id IN (?)', [ids]);
      await this.sql.query('INSERT INTO point_transactions (user_id, kind, amount, balance) VALUES ?', [rows.map((r) => [r.id, 'CHARGE', amount, r.points])]);
    }
  }

  /**
   * Server-wide counters: SQL statements MariaDB has received (Questions) and commands Redis has
   * processed. Their difference over a load run ÷ its requests says how many round trips one
   * request costs (inflated if other clients use the same MariaDB or Redis meanwhile).
   */
  async counters(): Promise<{ sql: number; redis: number }> {
    const [[rows], info] = await Promise.all([this.sql.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Questions'"), this.redis.info('stats')]);
    return { sql: Number(rows[0]?.Value ?? NaN), redis: Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN) };
  }

  async close(): Promise<void> {
    if ((await this.redis.get(LOCK_KEY)) === String(process.pid)) await this.redis.del(LOCK_KEY);
    this.redis.disconnect();
    await this.sql.end();
    await this.orm.close();
  }
}

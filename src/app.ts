import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { MikroORM } from '@mikro-orm/mysql';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub } from '@graphql-yoga/subscription';

import { MIN_ACQUIRE_TIMEOUT_MS, ormConfig } from '../mikro-orm.config';
import { AccountService, type AccountSettings } from './accounts/account-service';
import { ExistingAccounts } from './accounts/existing-accounts';
import { SessionExpiries } from './auth/session-bound';
import { TokenVerifier, tokenKey as createTokenKey } from './auth/tokens';
import { ConcertService } from './concerts/concert-service';
import { seedDemoConcerts } from './concerts/demo-seed';
import type { Config } from './config';
import type { Services } from './services';
import { createLogger, type Logger } from './logger';
import { countStatements } from './database/statement-counter';
import { boundStatements } from './database/statement-timeout';
import { undoInterruptedFirstMigration } from './database/interrupted-migration';
import { withStartupLock } from './database/startup-lock';
import { MysqlProbe } from './database/mysql-probe';
import { createMetrics, type Metrics } from './observability/metrics';
import { createLimits } from './limits';
import { LiveQueueStatus } from './queue/live-status';
import { QueueService, watchBeat, type QueueSettings } from './queue/queue-service';
import { InventoryService } from './inventory/inventory-service';
import { CancellationService } from './payments/cancellation-service';
import { checkSelectedDatabase, createRedis, describeRedis, redisDatabase, redisKeys, redisStarted, type RedisClient } from './redis';
import { syncSharedClock } from './redis/clock';
import { AppError } from './errors';
import { buildAppSchema } from './schema/build';
import { SeatCatalog } from './seats/seat-catalog';
import { SeatEvents } from './seats/seat-events';
import { SeatMapService } from './seats/seat-map-service';
import { createErrorFormatter } from './schema/format-error';
import { healthRouter } from './http/health';
import { HoldService } from './holds/hold-service';
import { PaymentService } from './payments/payment-service';
import { PointsService } from './points/points-service';
import { startServer, type RunningServer } from './server';
import { startWorkers } from './workers';
import type { RepeatingJob } from './workers/repeating-job';

export interface App {
  config: Config;
  services: Services;
  orm: MikroORM;
  redis: RedisClient;
  server: RunningServer;
  /** The port actually bound (PORT=0 picks a free one). */
  port: number;
  stop(): Promise<void>;
}

/** The longest one Redis command of a request or tick may take (the slowest scripts take milliseconds). */
const REDIS_COMMAND_TIMEOUT_MS = 2000;
/** Start-up waits this long for Redis, then MySQL (either may be starting beside us), saying why every few seconds. */
const DEPENDENCY_START_TIMEOUT_MS = 20_000;
const DEPENDENCY_START_REPORT_MS = 5000;
/** How long start-up waits before it connects again to a MySQL that was not there yet. */
const MYSQL_START_RETRY_MS = 500;
/** Driver errors of a MySQL not (yet) reachable, which it may well be a moment later; any other error stops start-up at once. */
const MYSQL_NOT_UP = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'PROTOCOL_CONNECTION_LOST']);

/** How often the shared clock is measured against Redis's again (syncSharedClock). */
const CLOCK_SYNC_MS = 60_000;

/** How long a replica waits for another one's migrations and seeding before it gives up. */
const STARTUP_LOCK_TIMEOUT_SECONDS = 300;

/**
 * Creates the database if missing, then applies pending migrations and runs `prepare` (initial data)
 * under the database's start-up lock, so replicas starting together never run them at the same time.
 * Statements are counted into `metrics` if given.
 */
export async function openDatabase(
  config: Config,
  metrics?: Metrics,
  logger?: Logger,
  prepare?: (orm: MikroORM) => Promise<void>,
  stop?: AbortSignal,
): Promise<MikroORM> {
  const loggerFactory = metrics && countStatements(metrics.sqlStatements);
  // A burst that queues for the pool (200 charges on one account's row, on a busy machine) waits as
  // long as a statement may, not a fixed 3 s: a healthy MySQL then answers them all.
  const acquireTimeoutMs = Math.max(MIN_ACQUIRE_TIMEOUT_MS, config.mysqlStatementTimeoutMs);
  const init = () => MikroORM.init({ ...ormConfig(config.databaseUrl, acquireTimeoutMs), connect: false, ...(loggerFactory && { loggerFactory }) });
  const orm = await databaseEnsured(init, describeMysql(config.databaseUrl), logger, stop);
  try {
    // Not connect(): ensureDatabase opened a pool already (when the database existed), which connect()
    // would replace without closing, leaving a MySQL connection and a timer past orm.close().
    await orm.reconnect();
  } catch (error) {
    await orm.close(true);
    throw new Error(`${describeMysql(config.databaseUrl)}: ${messageOf(error)}`);
  }
  await withStartupLock(orm, STARTUP_LOCK_TIMEOUT_SECONDS, async () => {
    const dropped = await undoInterruptedFirstMigration(orm);
    if (dropped.length > 0) logger?.warn({ tables: dropped }, 'a first start was stopped during the first migration: its empty tables are dropped and the migrations run again');
    const applied = await orm.migrator.up();
    if (applied.length > 0) logger?.info({ migrations: applied.map((migration) => migration.name) }, 'applied database migrations');
    await prepare?.(orm);
  }, stop).catch(async (error: unknown) => {
    // Nothing of a failed start-up stays open (an embedding process, or a test, carries on).
    await orm.close(true);
    throw error;
  });
  boundStatements(orm, config.mysqlStatementTimeoutMs);
  return orm;
}

/**
 * An ORM on the configured database, created if missing. MySQL may still be starting beside us (as
 * Redis may): a connection it refuses is tried again for up to DEPENDENCY_START_TIMEOUT_MS, said every
 * few seconds; any other error stops start-up, after one more look (a replica starting at the same
 * moment may have created the database between the check and the CREATE). Errors say where MySQL is:
 * a driver's own message ("connect ETIMEDOUT") names neither.
 */
async function databaseEnsured(init: () => Promise<MikroORM>, where: string, logger?: Logger, stop?: AbortSignal): Promise<MikroORM> {
  const started = Date.now();
  let reportedAt = started;
  let otherErrors = 0;
  for (;;) {
    const orm = await init();
    let error: unknown;
    try {
      await orm.schema.ensureDatabase();
      return orm;
    } catch (caught) {
      error = caught;
      await orm.close(true);
    }
    const notUp = MYSQL_NOT_UP.has(String((error as { code?: unknown } | undefined)?.code));
    if (notUp && Date.now() - started >= DEPENDENCY_START_TIMEOUT_MS) throw new Error(`${where}: no answer within ${DEPENDENCY_START_TIMEOUT_MS / 1000} s (${messageOf(error)})`);
    if (!notUp && ++otherErrors > 1) throw new Error(`${where}: ${messageOf(error)}`);
    if (notUp && Date.now() - reportedAt >= DEPENDENCY_START_REPORT_MS) {
      reportedAt = Date.now();
      logger?.warn({ reason: messageOf(error) }, `waiting for ${where}`);
    }
    if (notUp) await sleep(MYSQL_START_RETRY_MS, undefined, { signal: stop }).catch(() => Promise.reject(new Error('start-up stopped while waiting')));
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Where MySQL is, for a message: DATABASE_URL without its password. */
function describeMysql(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.password = '';
  url.search = '';
  return `MySQL at ${url.toString()}`;
}

/** The configured admin account and, on an empty database, the demo concerts (check-then-write: needs the start-up lock). */
async function prepareData(orm: MikroORM, config: Config, accountSettings: AccountSettings, logger: Logger): Promise<void> {
  if (config.admin) {
    const { shortPassword } = await new AccountService(orm, accountSettings).ensureAdmin(config.admin.email, config.admin.password).catch((error: unknown) => {
      // An address or password no account could have: say which setting it came from.
      throw error instanceof AppError && error.code === 'BAD_USER_INPUT' ? new Error(`ADMIN_EMAIL / ADMIN_PASSWORD: ${error.message}`) : error;
    });
    if (shortPassword) logger.warn("ADMIN_PASSWORD is shorter than sign-up's minimum: easy to guess for an account that can create concerts.");
  }
  if (config.seedDemo) {
    const seeded = await seedDemoConcerts(new ConcertService(orm));
    if (seeded > 0) logger.info({ concerts: seeded }, 'seeded demo concerts');
  }
}

/**
 * The waiting room's timings. seatsLeft written by a tick is trusted for a few ticks (at least 1 s):
 * long enough that status reads between ticks never recount, short enough that a concert no tick
 * visits any more is recounted on its next read.
 */
export function queueSettings(config: Config): QueueSettings {
  return {
    activeTtlSeconds: config.activeTtlSeconds,
    admissionIntervalMs: config.admissionIntervalMs,
    presenceGraceSeconds: config.presenceGraceSeconds,
    activeIdleSeconds: config.activeIdleSeconds,
    seatsLeftTtlMs: Math.max(config.admissionIntervalMs * 3, 1000),
    // Half a grace (30 s by default), at least three ticks and 2 s: an outage shorter than that costs
    // no fan asking at least every half grace the place anyway, and ticks held back by a slow MySQL
    // (one statement timeout each, 10 s by default) or a busy process are not a gap.
    unattendedAfterMs: Math.max(config.presenceGraceSeconds * 500, config.admissionIntervalMs * 3, 2000),
  };
}

/**
 * Wires everything and starts listening: the one composition root, used by main.ts and the tests.
 * `stop` aborting (a SIGTERM) ends a start-up still waiting for another replica's or for Redis, with an error.
 */
export async function startApp(config: Config, logger: Logger = createLogger(config.logLevel), stop?: AbortSignal): Promise<App> {
  if (config.jwtSecretIsDefault) logger.warn('JWT_SECRET is not set: using a fixed development secret. Never do this in production.');
  else if (config.weakJwtSecret) logger.warn('JWT_SECRET is shorter than 32 bytes: tokens signed with it can be guessed offline. Generate one: openssl rand -base64 48');
  if (config.adminHalfSet) logger.warn('Only one of ADMIN_EMAIL and ADMIN_PASSWORD is set: no admin account is made. Set both.');
  // Open as the contract has it, but its figures (fans in line, seats left, points paid) say how a sale goes.
  if (config.production && config.metricsToken === '') logger.warn('METRICS_TOKEN is not set: anyone who reaches this port can read GET /metrics. Set it when the port is public.');
  const metrics = createMetrics();
  const tokenKey = createTokenKey(config.jwtSecret);
  const accountSettings: AccountSettings = { tokenKey, jwtTtlSeconds: config.jwtTtlSeconds, passwordHashCost: config.passwordHashCost };
  const keys = redisKeys(config.redisPrefix, redisDatabase(config.redis));
  // Requests issue many small commands at once: auto-pipelining sends those of one tick in one write.
  // A Redis that stops answering without closing the connection (paused, a network that drops
  // packets) fails each command after REDIS_COMMAND_TIMEOUT_MS, so requests answer
  // SERVICE_UNAVAILABLE instead of hanging until TCP gives up.
  const redis = createRedis(config.redis, { enableAutoPipelining: true, commandTimeout: REDIS_COMMAND_TIMEOUT_MS });
  // Subscriber connections must queue commands while reconnecting, so they re-subscribe by themselves.
  const queueSubscriber = createRedis(config.redis, { enableOfflineQueue: true, maxRetriesPerRequest: null });
  const eventSubscribe = createRedis(config.redis, { enableOfflineQueue: true, maxRetriesPerRequest: null });
  const disconnectRedis = () => {
    for (const client of [queueSubscriber, eventSubscribe, redis]) client.disconnect();
  };
  const where = describeRedis(config.redis);
  await redisStarted([redis, queueSubscriber, eventSubscribe], DEPENDENCY_START_TIMEOUT_MS, DEPENDENCY_START_REPORT_MS, (reason) => logger.warn({ reason }, `waiting for ${where}`), stop)
    .then(() => checkSelectedDatabase(redis, config.redis))
    // Before anything is written or signed (the admin's credentials are, while the data is prepared):
    // on the shared clock, as everything after; measured again every minute, as clocks drift.
    .then(() => syncSharedClock(redis))
    .catch(
    (error: unknown) => {
      // Nothing keeps retrying behind the failure (the tests start apps in their own process).
      disconnectRedis();
      throw new Error(`${where}: ${messageOf(error)}`);
    },
  );
  const clockSync = setInterval(() => void syncSharedClock(redis).catch((error: unknown) => logger.debug({ err: error }, "could not read Redis's clock")), CLOCK_SYNC_MS);
  clockSync.unref();
  const orm = await openDatabase(config, metrics, logger, (opened) => prepareData(opened, config, accountSettings, logger), stop).catch((error: unknown) => {
    clearInterval(clockSync);
    disconnectRedis();
    throw error;
  });
  // Nothing publishes through the target (SeatEvents publishes in order itself), so its publish
  // client is the request connection, never used.
  const eventTarget = createRedisEventTarget<CustomEvent>({ publishClient: redis, subscribeClient: eventSubscribe });
  // type-graphql needs a pubSub; seat events bypass its per-subscriber buffers (see SeatEvents).
  const pubSub = createPubSub({ eventTarget });
  const concerts = new ConcertService(orm);
  const seatCatalog = new SeatCatalog(orm);
  const inventory = new InventoryService(redis, keys, seatCatalog, concerts, logger);
  const queue = new QueueService(redis, keys, concerts, inventory, metrics, queueSettings(config), logger);
  metrics.readLinesFrom(() => queue.lineFigures());
  const liveQueue = new LiveQueueStatus(queue, queueSubscriber, keys.channels.queueTicks, watchBeat(config.presenceGraceSeconds).intervalMs, metrics, logger);
  const seatEvents = new SeatEvents(eventTarget, eventSubscribe, redis, keys.channels, seatCatalog, metrics, logger);
  const holds = new HoldService(redis, keys, seatCatalog, concerts, queue, seatEvents, metrics, { ttlSeconds: config.holdTtlSeconds, maxPerSchedule: config.maxHoldsPerSchedule }, logger);
  const points = new PointsService(orm, { maxCharge: config.maxCharge });
  const limits = createLimits(redis, keys, config.limits, metrics.limitRefusals);
  const tokens = new TokenVerifier(tokenKey);
  const accounts = new AccountService(orm, accountSettings, limits);
  const sessions = new SessionExpiries();
  const existingAccounts = new ExistingAccounts(orm, config.accountCheckSeconds * 1000, sessions, tokens);
  const mysqlProbe = new MysqlProbe(orm);
  const services: Services = {
    config,
    tokens,
    accounts,
    existingAccounts,
    sessions,
    concerts,
    queue,
    liveQueue,
    seatMap: new SeatMapService(seatCatalog, concerts, holds, queue, liveQueue, seatEvents),
    seatEvents,
    holds,
    points,
    payments: new PaymentService(orm, seatCatalog, holds, points, seatEvents, queue, inventory, metrics, logger),
    cancellations: new CancellationService(orm, seatCatalog, holds, points, inventory, queue, seatEvents, metrics, logger),
    inventory,
    limits,
  };
  let server: RunningServer | undefined;
  let workers: RepeatingJob[] = [];
  /** Stops what has started: the app's own stop, and a start-up that fails part way (nothing of it stays open). */
  const stopStarted = async () => {
    // The workers need nothing the requests do: they close while the requests drain.
    await Promise.all([server?.close(), ...workers.map((worker) => worker.close())]);
    clearInterval(clockSync);
    liveQueue.stop();
    seatEvents.stop();
    existingAccounts.stop();
    sessions.stop();
    limits.sockets.stop();
    disconnectRedis();
    mysqlProbe.close();
    await orm.close();
  };
  try {
    // On a Cluster, ioredis opens the pub/sub connection lazily, at the first SUBSCRIBE: a burst of
    // seatChanged subscriptions while it connected put it in subscriber mode before its ready check,
    // whose INFO then threw inside a promise nobody awaits and killed the process. Opened here, before
    // any request can subscribe.
    await eventSubscribe.subscribe(keys.channels.subscriberOpen);
    await liveQueue.start();
    seatEvents.start();
    await existingAccounts.followCredentialChanges();
    existingAccounts.start();
    // One hash (a fraction of a second at the default cost) before serving, so the bound on password waits holds from the first request.
    await accounts.calibratePasswordHashing();
    const schema = await buildAppSchema(pubSub);
    server = await startServer(
      { schema, services, formatError: createErrorFormatter(config.nodeEnv !== 'development', logger), routes: healthRouter(mysqlProbe, redis, metrics.registry, config.metricsToken), logger },
      config.port,
    );
    if (config.runWorkers) workers = await startWorkers(config, services, logger);
  } catch (error) {
    await stopStarted().catch((closing: unknown) => logger.warn({ err: closing }, 'could not close everything a failed start-up opened'));
    throw error;
  }

  return {
    config,
    services,
    orm,
    redis,
    server,
    port: (server.httpServer.address() as { port: number }).port,
    stop: stopStarted,
  };
}

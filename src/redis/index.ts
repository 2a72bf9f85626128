import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { HOLD_SCRIPTS } from './hold-scripts';
import { PUBSUB_SCRIPTS } from './pubsub-scripts';
import { INVENTORY_SCRIPTS } from './inventory-scripts';
import { LIMIT_SCRIPTS } from './limit-scripts';
import { QUEUE_SCRIPTS } from './queue-scripts';
import { registerScripts } from './script';
import { SOCKET_SCRIPTS } from './socket-scripts';

export { redisKeys, type RedisKeys } from './keys';
export { runScript } from './script';

/** A connection to one Redis server or to a Redis Cluster: every caller works with either. */
export type RedisClient = Redis | Cluster;

/** How often a Cluster's subscriber is looked at for a move (see watchSubscriptions): a property read. */
const SUBSCRIBER_MOVE_CHECK_MS = 250;

/** The part of ioredis's Cluster (5.x) that tells its subscriber connection moved: not in its typings. */
interface ClusterSubscriberState {
  subscriber?: { lastActiveSubscriber?: Redis };
}

/** What a follower of pub/sub channels is told of its connection (see watchSubscriptions). */
export interface SubscriptionWatch {
  /** The pub/sub connection closed: what is published from now on may be lost, until `restored`. */
  lost?: () => void;
  /** It is back, its channels subscribed again: what was published meanwhile is lost. */
  restored: () => void;
}

/**
 * Tells `watch` when the pub/sub connection of `client` is lost and when it is back after a loss,
 * its channels subscribed again: what was published meanwhile is lost, and the caller reads afresh
 * what it follows. One Redis says so ('close', then 'ready', which it sends before it subscribes
 * again: a caller subscribes once more itself, and that answer says the channels are live). A
 * Cluster's ioredis moves its subscriber to another node (a failover, a dropped connection) and says
 * nothing; the subscriber it leaves closes, and it notes the move done, once the channels are
 * subscribed again, by replacing its last active subscriber, which is watched for here (messages
 * the new one hears before that are live already: a caller that must not let them pass what was
 * lost holds them from `lost` on). Returns what stops watching.
 */
export function watchSubscriptions(client: RedisClient, watch: SubscriptionWatch): () => void {
  const lost = () => watch.lost?.();
  if (!(client instanceof Cluster)) {
    client.on('close', lost);
    client.on('ready', watch.restored);
    return () => {
      client.off('close', lost);
      client.off('ready', watch.restored);
    };
  }
  const active = () => (client as unknown as ClusterSubscriberState).subscriber?.lastActiveSubscriber;
  // One that closed before it was looked at (a flapping failover) says so no more: told now, and
  // not taken for a return (the next subscriber's is).
  const watchClose = (subscriber: Redis | undefined): boolean => {
    const closed = subscriber?.status === 'close' || subscriber?.status === 'end';
    if (closed) lost();
    else subscriber?.once('close', lost);
    return closed;
  };
  let seen = active();
  watchClose(seen);
  const timer = setInterval(() => {
    const now = active();
    if (now === seen) return;
    const moved = seen !== undefined && now !== undefined;
    seen?.off('close', lost);
    const closed = watchClose(now);
    seen = now;
    if (moved && !closed) watch.restored();
  }, SUBSCRIBER_MOVE_CHECK_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    seen?.off('close', lost);
  };
}

/** Where Redis is: one server (REDIS_URL), or the seed nodes of a cluster (REDIS_CLUSTER_NODES). */
export type RedisTarget = { url: string } | { clusterNodes: { host: string; port: number }[] };

/** Every Lua script; each connection registers them all. */
export const SCRIPTS = [...QUEUE_SCRIPTS, ...HOLD_SCRIPTS, ...PUBSUB_SCRIPTS, ...INVENTORY_SCRIPTS, ...SOCKET_SCRIPTS, ...LIMIT_SCRIPTS] as const;
export { SOCKET_OPEN, SOCKET_RENEW } from './socket-scripts';

/** How often a cluster connection reads the slot map again (one CLUSTER SLOTS). */
const SLOTS_REFRESH_MS = 2000;

/**
 * A connection without the app's scripts (BullMQ's own connections). By default it fails fast while
 * Redis is away (so clients get SERVICE_UNAVAILABLE instead of hanging) and reconnects by itself.
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  const retryStrategy = (attempt: number) => Math.min(attempt * 100, 1000);
  const settings: RedisOptions = { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, retryStrategy, ...options };
  let client: RedisClient;
  if ('clusterNodes' in target) {
    // Queueing is the cluster client's to do (it routes each command to its slot's node). Never
    // auto-pipelining: ioredis batches the commands of one tick per node, not per slot, and retries a
    // batch on MOVED or ASK only when every reply in it is that same redirect; so during a failover or
    // a slot migration, commands of the moved slot that shared a batch with others failed with the raw
    // MOVED/ASK (ioredis issue #2075): payments' follow-ups, seat announcements, admission ticks.
    const { enableOfflineQueue, ...redisOptions } = settings;
    delete redisOptions.enableAutoPipelining;
    client = new Cluster(target.clusterNodes, {
      enableOfflineQueue,
      enableAutoPipelining: false,
      redisOptions,
      clusterRetryStrategy: retryStrategy,
      slotsRefreshTimeout: 2000,
      // The slot map is otherwise read again only on a MOVED or a lost connection: a master that
      // freezes (a paused VM, a partition) keeps its connections open and sends neither, so its
      // slots' commands went on timing out there long after its replica had taken them over.
      slotsRefreshInterval: SLOTS_REFRESH_MS,
    });
  } else {
    client = new Redis(target.url, settings);
  }
  // Errors surface on the commands that hit them; the connection itself just keeps retrying.
  client.on('error', () => undefined);
  return client;
}

/** A connection for the app's own work, with every Lua script registered. */
export function createRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  const client = connectRedis(target, options);
  registerScripts(client, SCRIPTS);
  return client;
}

/**
 * Resolves while Redis serves: it answers a PING and, on a Cluster, says every slot is served
 * (cluster_state:ok). Any live node answers PING, even with the slots of dead masters served by none.
 */
export async function redisServes(redis: RedisClient): Promise<void> {
  if (!(redis instanceof Cluster)) {
    await redis.ping();
    return;
  }
  const info = String(await redis.cluster('INFO'));
  if (!/^cluster_state:ok\b/m.test(info)) throw new Error('the Redis Cluster does not serve every slot');
}

/**
 * The run ids of the Redis servers holding the data (every master of a Cluster), sorted: a server
 * restarted, or a replica promoted in its place, has a new one.
 */
export async function serverRunIds(redis: RedisClient): Promise<string> {
  const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const ids = await Promise.all(servers.map(async (server) => /^run_id:(\w+)/m.exec(await server.info('server'))?.[1] ?? '?'));
  return ids.sort().join(',');
}

/** Resolves once the connection is ready (startup waits for Redis rather than failing requests). */
export function redisReady(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}

/** The database index REDIS_URL names (`/N`); a Cluster has only database 0. */
export function redisDatabase(target: RedisTarget): number {
  return 'clusterNodes' in target ? 0 : Number(new URL(target.url).pathname.slice(1) || '0');
}

/**
 * Makes sure a single Redis serves the database REDIS_URL names: when SELECT fails (an index beyond
 * the server's `databases`), ioredis says so only as an error event and goes on in database 0, where
 * another deployment's keys may be.
 */
export async function checkSelectedDatabase(redis: RedisClient, target: RedisTarget): Promise<void> {
  if ('clusterNodes' in target) return;
  const wanted = redisDatabase(target);
  const info = String(await redis.call('CLIENT', 'INFO'));
  const selected = Number(/\bdb=(\d+)/.exec(info)?.[1]);
  if (selected !== wanted) throw new Error(`REDIS_URL names database ${wanted}, which this Redis does not have (see "databases" in its redis.conf)`);
}

/** Where Redis is, for a message: the URL without its password, or the cluster's seeds. */
export function describeRedis(target: RedisTarget): string {
  if ('clusterNodes' in target) return `the Redis Cluster at ${target.clusterNodes.map(({ host, port }) => `${host}:${port}`).join(', ')}`;
  try {
    const url = new URL(target.url);
    url.username = '';
    url.password = '';
    // ioredis takes options from the query string too (?password=…).
    url.search = '';
    return `Redis at ${url.toString()}`;
  } catch {
    return 'Redis (REDIS_URL)';
  }
}

/**
 * Waits until every connection is ready: at start-up Redis may still be starting beside us. Says why
 * it still waits every `reportEveryMs` (`onWait`, with the last connection error), and gives up after
 * `timeoutMs` with that reason: a process that never listens, silently, is worse than one that stops
 * and says why. Gives up at once when `stop` aborts (a SIGTERM during start-up).
 */
export async function redisStarted(
  clients: RedisClient[],
  timeoutMs: number,
  reportEveryMs: number,
  onWait: (reason: string) => void,
  stop?: AbortSignal,
): Promise<void> {
  stop?.throwIfAborted();
  let reason = 'no answer yet';
  // A Cluster's own error only says it could not refresh its slots: the node's error says why.
  const remember = (error: Error & { lastNodeError?: Error }) => (reason = error.lastNodeError?.message ?? (error.message || error.name));
  for (const client of clients) client.on('error', remember);
  const report = setInterval(() => onWait(reason), reportEveryMs);
  let timer: NodeJS.Timeout | undefined;
  let onStop: (() => void) | undefined;
  try {
    await Promise.race([
      Promise.all(clients.map(redisReady)),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s (${reason})`)), timeoutMs);
        onStop = () => reject(new Error('start-up stopped while waiting'));
        stop?.addEventListener('abort', onStop, { once: true });
      }),
    ]);
  } finally {
    clearInterval(report);
    clearTimeout(timer);
    if (onStop) stop?.removeEventListener('abort', onStop);
    for (const client of clients) client.off('error', remember);
  }
}

/**
 * Where the tests (test/) and the bench (bench/) run the app: the local MariaDB and Redis, each run in
 * its own database and Redis key prefix, never the app's own; and how such a sandbox is wiped.
 */
import { createConnection } from 'mysql2/promise';
import { Cluster, Redis } from 'ioredis';

/** The local MariaDB (root, no password) and Redis, on loopback. */
export const LOCAL_MYSQL_ROOT = 'mysql://root@127.0.0.1:3306';
export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

export interface Sandbox {
  /** MariaDB server URL without a database. */
  mysqlRoot: string;
  database: string;
  redisUrl: string;
  /** `host:port,…` seeds of a Redis Cluster to use instead of redisUrl. */
  redisClusterNodes?: string;
  redisPrefix: string;
}

/** Environment of an app in the sandbox: a free port, cheap password hashing, no demo data. */
export function sandboxEnv(sandbox: Sandbox): Record<string, string> {
  return {
    PORT: '0',
    DATABASE_URL: `${sandbox.mysqlRoot}/${sandbox.database}`,
    REDIS_URL: sandbox.redisUrl,
    REDIS_KEY_PREFIX: sandbox.redisPrefix,
    ...(sandbox.redisClusterNodes ? { REDIS_CLUSTER_NODES: sandbox.redisClusterNodes } : {}),
    PASSWORD_HASH_COST: '4',
    SEED_DEMO: 'false',
  };
}

/**
 * Deletes every key under `prefix:` (SCAN, then UNLINK in batches), except keys starting with one of
 * `keep` (full keys, prefix included). Keys of other prefixes on the same Redis are not touched.
 */
export async function wipeRedisKeys(redis: Redis | Cluster, prefix: string, keep: readonly string[] = []): Promise<void> {
  // Found first, then deleted together: a tick running between two partial deletions (a scan finds
  // a concert's keys over several batches) could otherwise write into a half-wiped line.
  const byNode = new Map<Redis, string[]>();
  for await (const { node, keys } of scanKeys(redis, prefix)) {
    const doomed = keep.length ? keys.filter((key) => !keep.some((kept) => key.startsWith(kept))) : keys;
    byNode.set(node, [...(byNode.get(node) ?? []), ...doomed]);
  }
  for (const [node, doomed] of byNode) {
    if (doomed.length === 0) continue;
    if (!(redis instanceof Cluster)) {
      await node.unlink(...doomed);
      continue;
    }
    // A cluster node's keys sit in many slots: one UNLINK per hash tag (one slot), the rest one by one.
    const byTag = new Map<string, string[]>();
    for (const key of doomed) {
      const tag = /\{[^}]+\}/.exec(key)?.[0] ?? key;
      byTag.set(tag, [...(byTag.get(tag) ?? []), key]);
    }
    await Promise.all([...byTag.values()].map((keys) => node.unlink(...keys)));
  }
}

/** How many keys start with `prefix:`. */
export async function countRedisKeys(redis: Redis | Cluster, prefix: string): Promise<number> {
  let count = 0;
  for await (const { keys } of scanKeys(redis, prefix)) count += keys.length;
  return count;
}

/** Batches of keys under `prefix:`, with the node that holds them (a cluster is scanned master by master). */
async function* scanKeys(redis: Redis | Cluster, prefix: string): AsyncGenerator<{ node: Redis; keys: string[] }> {
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      yield { node, keys };
    } while (cursor !== '0');
  }
}

/** A plain connection to the Redis (or cluster) an app environment points at. */
export function sandboxRedis(env: Record<string, string>): Redis | Cluster {
  const seeds = env.REDIS_CLUSTER_NODES;
  if (!seeds) return new Redis(env.REDIS_URL as string);
  return new Cluster(seeds.split(',').map((seed) => ({ host: seed.split(':')[0] as string, port: Number(seed.split(':')[1]) })));
}

/** Drops the database an app environment's DATABASE_URL names (connecting to the same server without it). */
export async function dropDatabase(env: Record<string, string>): Promise<void> {
  const url = new URL(env.DATABASE_URL as string);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '';
  const mysql = await createConnection(url.toString());
  try {
    await mysql.query(`DROP DATABASE IF EXISTS \`${database}\``);
  } finally {
    await mysql.end();
  }
}

/** Drops the database and deletes the Redis keys an app environment points at, so a run starts clean. */
export async function resetSandbox(env: Record<string, string>): Promise<void> {
  await dropDatabase(env);
  const redis = sandboxRedis(env);
  try {
    if (redis instanceof Cluster) await new Promise((resolve) => redis.once('ready', resolve));
    await wipeRedisKeys(redis, env.REDIS_KEY_PREFIX as string);
  } finally {
    redis.disconnect();
  }
}

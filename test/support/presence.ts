import { expect, vi } from 'vitest';
import { redisKeys } from '../../src/redis';
import { Api } from '../../support/graphql-client';
import { ENTER, type QueueStatus, STATUS_SUBSCRIPTION } from '../../support/operations';
import { pollStatus } from './booking';
import { Feed, signUp, signUpMany, wsClient, type Account } from './client';
import { createConcert } from './fixtures';
import { startTestServer, type TestServer } from './harness';
import { metricSum } from './metrics';
import { spawnServer, type ServerProcess } from './process';

/** How long an ACTIVE fan keeps the slot without a sign of presence, on the presence tests' servers. */
export const IDLE_S = 3;
/** Sockets per account: a fan may hold them all on a replica that dies. */
export const MAX_SOCKETS = 2;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A server of the presence tests: holds an ACTIVE slot long enough, with `graceSeconds` of presence grace. */
export const presenceServer = (name: string, graceSeconds: number) =>
  startTestServer(name, {
    ACTIVE_TTL_SECONDS: '120',
    PRESENCE_GRACE_SECONDS: String(graceSeconds),
    ACTIVE_IDLE_SECONDS: String(IDLE_S),
    MAX_SOCKETS_PER_USER: String(MAX_SOCKETS),
  });

/**
 * What the presence tests do to fans, on the file's server (`current`) unless told another: each file
 * its own, with what it opened (subscriptions, polls, replica processes) closed by closeAll.
 */
export function presenceHelpers(current: () => TestServer) {
  const children: ServerProcess[] = [];
  const closers: (() => Promise<void> | void)[] = [];

  const enter = async (fan: Account, id: string) => (await fan.api.data<{ enterQueue: QueueStatus }>(ENTER, { id })).enterQueue;

  /** Whether the fan is in the concert's line or ACTIVE, read straight from Redis: asking the API would be a sign of presence. */
  async function inLine(fan: Account, concertId: string, on: TestServer = current()): Promise<{ waiting: boolean; active: boolean }> {
    const k = redisKeys(on.app.config.redisPrefix).queue(Number(concertId));
    const [wait, active] = await Promise.all([on.app.redis.zscore(k.wait, fan.id), on.app.redis.zscore(k.active, fan.id)]);
    return { waiting: wait !== null, active: active !== null };
  }

  /** A queueStatus subscription of the fan on the given server; closed by closeAll at the latest. */
  function subscribe(wsUrl: string, fan: Account, concertId: string) {
    const client = wsClient(wsUrl, fan.token);
    const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
    const close = async () => {
      feed.close();
      await client.dispose();
    };
    closers.push(close);
    return { feed, close };
  }

  /** A subscription as subscribe opens it, retried every 100 ms while the server refuses the socket (MAX_SOCKETS_PER_USER); with its first status. */
  async function subscribeWhenLet(wsUrl: string, fan: Account, concertId: string, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const attempt = subscribe(wsUrl, fan, concertId);
      try {
        const first = (await attempt.feed.next()).data?.queueStatus;
        if (first) return { ...attempt, first };
      } catch {
        // closed with 4429: the account's sockets are all counted
      }
      await attempt.close();
      if (Date.now() > deadline) throw new Error(`no socket let in within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** Polls the fan's status every half second (a sign of presence) until stopped; stopped by closeAll at the latest. */
  function poll(fan: Account, concertId: string): () => void {
    const stop = pollStatus(fan, concertId);
    closers.push(stop);
    return stop;
  }

  const metric = (name: string, on: TestServer = current()) => metricSum(on.url, name);

  /** Capacity 1, its slot taken by a holder who keeps it by polling: everyone else stays in line. */
  async function fullConcert(on: TestServer = current()): Promise<{ concertId: string; holder: Account }> {
    const { concertId } = await createConcert(on, { maxActiveUsers: 1 });
    const holder = await signUp(new Api(on.url));
    await enter(holder, concertId);
    poll(holder, concertId);
    await vi.waitFor(async () => expect((await inLine(holder, concertId, on)).active).toBe(true), { timeout: 5000, interval: 50 });
    return { concertId, holder };
  }

  /** An API-only replica, and two fans in line (behind the holder of the one slot) who will watch there. */
  async function twoFansBesideReplica(on: TestServer): Promise<{ replica: ServerProcess; concertId: string; fans: [Account, Account] }> {
    const replica = await spawnServer({ ...on.env, RUN_WORKERS: 'false' });
    children.push(replica);
    const { concertId } = await fullConcert(on);
    const fans = (await signUpMany(new Api(on.url), 2)) as [Account, Account];
    for (const fan of fans) await enter(fan, concertId);
    return { replica, concertId, fans };
  }

  async function closeAll(): Promise<void> {
    for (const close of closers) await close();
    await Promise.all(children.map((child) => child.stop()));
  }

  return { children, closers, enter, inLine, subscribe, subscribeWhenLet, poll, metric, fullConcert, twoFansBesideReplica, closeAll };
}

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { ENTER, LEAVE, PAY, STATUS, type Payment, type QueueStatus } from '../support/operations';
import { createRedis, redisKeys, redisReady, type RedisClient } from '../src/redis';
import { dropFromWorkIndex } from '../src/redis/work-index';
import { startTestServer, type TestServer } from './support/harness';
import { signUp, type Account } from './support/client';
import { masterOf, pidOf, redisCli, startCluster, stopCluster } from './support/cluster-nodes';
import { createConcert } from './support/fixtures';
import { activeFans, charge, expectConsistentLedger, hold, ledger, me, seatIds } from './support/booking';

// A Redis Cluster of this file's own (3 masters + 3 replicas): one master stalls its writes, another is SIGKILLed mid-sale.
const BASE_PORT = 7600 + Math.floor(Math.random() * 20) * 10;
let server: TestServer;
let api: Api;
/** The test's own connections (the server's queue commands behind a stalled one). */
let redis: RedisClient;

beforeAll(async () => {
  const seeds = startCluster(BASE_PORT);
  server = await startTestServer('redis_failover', { REDIS_CLUSTER_NODES: seeds.map(({ host, port }) => `${host}:${port}`).join(',') });
  api = new Api(server.url);
  redis = createRedis({ clusterNodes: seeds }, {});
  await redisReady(redis);
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
  stopCluster(BASE_PORT);
});

/** The port of the master that serves `key`'s slot. */
function masterPort(key: string): number {
  const port = masterOf(key, BASE_PORT);
  if (port === undefined) throw new Error(`no master for ${key}`);
  return port;
}

describe('a Redis Cluster master that stalls writes', () => {
  // The tick's index of concerts with a line lives on another node than the concert's keys, so nothing
  // orders an entry's two writes there but the entry itself: the index is added to only once the
  // script that put the fan in line has answered. Sent at once, the index write could land first, a
  // tick could find the line still empty and take the concert out of the index, and the fan would wait
  // in a line that no tick visits.
  it('still leaves a concert with a fan in line in the admission index when a tick drops it mid-entry', async () => {
    const keys = redisKeys(server.env.REDIS_KEY_PREFIX!);
    const indexNode = masterPort(keys.queueIndex);
    // A concert whose line lives on another master than the index (each new concert is a new slot).
    let concertId = '';
    let lineNode = indexNode;
    while (lineNode === indexNode) {
      concertId = (await createConcert(server, { maxActiveUsers: 1 })).concertId;
      lineNode = masterPort(keys.queue(Number(concertId)).wait);
    }
    const line = keys.queue(Number(concertId));
    // A first fan comes and goes: Redis knows the concert's opening, so the entry below is one script.
    const [first, fan] = [await signUp(api), await signUp(api)];
    await first.api.data(ENTER, { id: concertId });
    await first.api.data(LEAVE, { id: concertId });

    redisCli(lineNode, 'client', 'pause', '10000', 'write');
    let entered: Promise<unknown>;
    try {
      entered = fan.api.data(ENTER, { id: concertId });
      // The entry is under way: its script waits on the stalled node (an index write, if sent, went through).
      await new Promise((resolve) => setTimeout(resolve, 500));
      // A tick drops the concert, whose line looks empty (reads go through a write pause).
      await dropFromWorkIndex(redis, keys.queueIndex, Number(concertId), async () => (await redis.zcard(line.wait)) + (await redis.zcard(line.active)) > 0);
    } finally {
      redisCli(lineNode, 'client', 'unpause');
    }
    await entered;
    // Eventually, not at once: the server's own tick may be between its SREM and the look that puts a
    // concert with work back (dropFromWorkIndex). Left out for good, it would never come back.
    await vi.waitFor(async () => expect(await redis.sismember(keys.queueIndex, concertId)).toBe(1), { timeout: 2000, interval: 50 });
  });
});

describe('a Redis Cluster master killed mid-sale', () => {
  it('costs SERVICE_UNAVAILABLE at worst while its replica takes over; then the line, holds and payments work, nothing sold twice', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 3, seatCount: 6, price: 100 });
    const [buyer, rival] = (await activeFans(api, concertId, 2)) as [Account, Account];
    const seats = await seatIds(server, scheduleIds[0]!);
    await charge(buyer, 1000);
    const held = await hold(buyer, seats[0]!);

    const victim = masterPort(`${server.env.REDIS_KEY_PREFIX}:{c:${concertId}}:wait`);
    process.kill(pidOf(victim), 'SIGKILL');

    // While the replica takes over, every answer is the data or SERVICE_UNAVAILABLE, never anything else.
    const codes = new Set<string>();
    await vi.waitFor(
      async () => {
        const answer = await buyer.api.request<{ queueStatus: QueueStatus }>(STATUS, { id: concertId });
        for (const error of answer.errors ?? []) codes.add(error.extensions?.code ?? 'none');
        expect(answer.data?.queueStatus.state).toBe('ACTIVE');
      },
      { timeout: 30_000, interval: 250 },
    );
    expect([...codes].filter((code) => code !== 'SERVICE_UNAVAILABLE')).toEqual([]);

    // Then everything works: a rival cannot take the held seat, the hold pays once, the line moves.
    expect(await rival.api.errorCode(`mutation($seatId: ID!) { holdSeat(seatId: $seatId) { id } }`, { seatId: seats[0] })).toBe('SEAT_UNAVAILABLE');
    const paid = await buyer.api.request<{ pay: Payment }>(PAY, { holdIds: [held.id], key: 'after-failover' });
    expect(paid.errors).toBeUndefined();
    const again = await buyer.api.request<{ pay: Payment }>(PAY, { holdIds: [held.id], key: 'after-failover' });
    expect(again.data?.pay.id).toBe(paid.data?.pay.id);
    const account = await me(buyer);
    expect(account.points).toBe(900);
    expectConsistentLedger(await ledger(server, buyer.id), account.points);
    // The line moves: a newcomer is admitted (activeFans waits for it).
    await activeFans(api, concertId, 1);
    const { enterQueue } = await rival.api.data<{ enterQueue: QueueStatus }>(ENTER, { id: concertId });
    expect(enterQueue.state).toBe('ACTIVE');
  });
});

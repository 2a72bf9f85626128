import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/harness';
import { wsClient } from './support/client';
import { hold } from './support/booking';
import { SeatStatus } from '../src/seats/seat';
import { followedOutOfLine, seatFeedWithRival } from './support/live-feed';
import { clusterNodes, redisCli } from './support/cluster-nodes';
import { redisKeys, runScript } from '../src/redis';
import { QUEUE_ENTER } from '../src/redis/queue-scripts';
import { drawPreQueueScore } from '../src/queue/draw';

/*
 * On a Redis Cluster, ioredis moves its pub/sub connection to another node when it drops (a failover,
 * a node restart, a network blip) and says nothing. What was published meanwhile is lost; one Redis
 * says 'ready' and the live feed reads its fans' places anew (live-reconnect.test.ts), and so must a
 * Cluster's move. Run by `npm run test:cluster` only: on one Redis this is live-reconnect's first test.
 */
const CLUSTER = process.env.TEST_REDIS_CLUSTER_NODES;
let server: TestServer;
const clients: ReturnType<typeof wsClient>[] = [];

beforeAll(async () => {
  if (CLUSTER) server = await startTestServer('cluster_subscriber_move', { RUN_WORKERS: 'false', ACTIVE_IDLE_SECONDS: '7200' });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await server?.stop();
});

const seedPort = () => Number(CLUSTER!.split(',')[0]!.split(':')[1]);

describe.runIf(CLUSTER)('a live feed whose Redis Cluster subscriber moved to another node', () => {
  it('reads its fans’ places anew once moved: a fan who entered on another replica meanwhile is told where they are (ACTIVE)', async () => {
    const { concertId, fan, feed } = await followedOutOfLine(server, 2, clients);
    const { queue } = server.app.services;

    // Every pub/sub connection drops; the fan enters right then through another replica (the script
    // straight, as that replica sends it: this process's own-change hook does not hear it), whose
    // note goes out on the channel while this process's subscriber is away.
    let killed = 0;
    for (const node of clusterNodes(seedPort())) killed += Number(redisCli(node.port, 'client', 'kill', 'type', 'pubsub').trim() || '0');
    expect(killed).toBeGreaterThan(0);
    const keys = redisKeys(server.env.REDIS_KEY_PREFIX!);
    await runScript(server.app.redis, QUEUE_ENTER, keys.queue(Number(concertId)), Number(fan.id), drawPreQueueScore(), 1, keys.channels.queueTicks, Number(concertId));

    // Ticks go on, numbered without a gap (none fell inside the cut), as a worker runs them.
    const ticking = setInterval(() => void queue.admitTick().catch(() => undefined), 100);
    const told: (string | undefined)[] = [];
    try {
      await feed.until((message) => {
        told.push(message.data?.queueStatus.state);
        return message.data?.queueStatus.state === 'ACTIVE';
      }, 5_000);
    } finally {
      clearInterval(ticking);
    }
    expect((await queue.status(Number(fan.id), Number(concertId))).state).toBe('ACTIVE');
  });
});

describe.runIf(CLUSTER)('a seatChanged feed whose Redis Cluster subscriber moved to another node', () => {
  it('is told, once, the seat changes published meanwhile, from the seat log', async () => {
    const { rival, first, second, feed, close } = await seatFeedWithRival(server);
    try {
      // Every pub/sub connection drops; a seat is announced held right then (as another replica
      // would: at once, a hold through the API here would take longer than the move), while this
      // process's subscriber is away or moving.
      let killed = 0;
      for (const node of clusterNodes(seedPort())) killed += Number(redisCli(node.port, 'client', 'kill', 'type', 'pubsub').trim() || '0');
      expect(killed).toBeGreaterThan(0);
      await server.app.services.seatEvents.announce([Number(first)], SeatStatus.HELD);
      expect((await feed.next(5_000)).data?.seatChanged).toMatchObject({ id: first, status: 'HELD' });
      await hold(rival, second);
      expect((await feed.next(5_000)).data?.seatChanged).toMatchObject({ id: second, status: 'HELD' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(feed.pending()).toBe(0);
    } finally {
      await close();
    }
  });

  it('is told a change published meanwhile before the live ones heard once moved, before the move was noticed', async () => {
    const { first, second, feed, close } = await seatFeedWithRival(server);
    const { seatEvents } = server.app.services;
    let ticking: NodeJS.Timeout | undefined;
    try {
      // This server's seat subscriber only (the other files' servers on this cluster keep theirs).
      const subscriber = (seatEvents as unknown as { subscriber: { subscriber?: { lastActiveSubscriber?: { stream?: { localPort?: number; remotePort?: number } } } } }).subscriber;
      const stream = subscriber.subscriber?.lastActiveSubscriber?.stream;
      expect(stream?.localPort).toBeGreaterThan(0);
      expect(redisCli(stream!.remotePort!, 'client', 'kill', 'addr', `127.0.0.1:${stream!.localPort}`, 'skipme', 'no').trim()).toBe('1');
      await seatEvents.announce([Number(first)], SeatStatus.HELD);
      // The other seat changes all along: some of its changes reach the moved subscriber before the
      // move is noticed (up to a quarter of a second), and must not pass the first seat's.
      let status = SeatStatus.AVAILABLE;
      ticking = setInterval(() => {
        status = status === SeatStatus.HELD ? SeatStatus.AVAILABLE : SeatStatus.HELD;
        void seatEvents.announce([Number(second)], status);
      }, 10);
      expect((await feed.next(5_000)).data?.seatChanged).toMatchObject({ id: first, status: 'HELD' });
    } finally {
      clearInterval(ticking);
      await close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { Client } from 'graphql-ws';
import { STATUS_SUBSCRIPTION } from '../support/operations';
import { Feed } from './support/client';
import { fanOf, freshIp, gql, openBareSocket, wsClientFrom } from './support/edge';
import { createConcert } from './support/fixtures';
import { startTestServer, type TestServer } from './support/harness';
import { RedisServer } from './support/redis-server';
import { Counter } from 'prom-client';
import { createRedis, redisKeys, redisReady } from '../src/redis';
import { SocketLeases, socketLeaseMs } from '../src/limits/socket-leases';

/** The per-IP limit at its default: the cap on sockets still opening follows it. */
const LIMITS = { MAX_SOCKETS_PER_USER: '2', TRUST_PROXY: 'true', RATE_LIMIT_IP_PER_MINUTE: '1200' };
let server: TestServer;
let replica: TestServer;
let concertId: string;

beforeAll(async () => {
  server = await startTestServer('limits_sockets', LIMITS);
  replica = await startTestServer('limits_sockets', { ...LIMITS, RUN_WORKERS: 'false' }, { reset: false });
  ({ concertId } = await createConcert(server));
});
afterAll(async () => {
  await replica?.stop();
  await server?.stop();
});

type Outcome = { open: true; client: Client } | { open: false; code: number; reason: string };

/** Opens a socket and subscribes: resolves once the first status arrives, or with the close code. */
async function connect(target: TestServer, token: string): Promise<Outcome> {
  let closed: { code: number; reason: string } | undefined;
  const client = wsClientFrom(target.wsUrl, freshIp(), token);
  client.on('closed', (event) => {
    const { code, reason } = event as { code: number; reason: string };
    closed = { code, reason };
  });
  const feed = new Feed<{ queueStatus: { state: string } }>(client, STATUS_SUBSCRIPTION, { id: concertId });
  try {
    const message = await feed.next();
    if (message.data?.queueStatus) return { open: true, client };
  } catch {
    // closed before any message
  }
  await client.dispose();
  if (!closed) throw new Error('neither a message nor a close');
  return { open: false, ...closed };
}

describe('socket leases while Redis is frozen', () => {
  it('lets sockets in, and a count Redis takes only once it wakes goes with its socket: nothing left to refuse the next ones', async () => {
    const frozen = new RedisServer();
    await frozen.start();
    const redis = createRedis({ url: frozen.url }, { commandTimeout: 300 });
    const keys = redisKeys('leases');
    const leases = new SocketLeases(redis, keys, 2, 60_000, new Counter({ name: 'refusals', help: 'refusals', labelNames: ['limit'], registers: [] }));
    try {
      await redisReady(redis);
      await frozen.pause();
      // Each open times out here, yet stays sent: Redis runs it when it wakes.
      const taken = await Promise.all([leases.acquire(7), leases.acquire(7)]);
      expect(taken).not.toContain('refused');
      for (const lease of taken) if (lease && lease !== 'refused') await leases.release(lease);
      frozen.resume();
      // Commands run in order: once this answers, the late opens (and the releases after them) have run.
      await redis.ping();
      expect(await redis.zcard(keys.sockets(7))).toBe(0);
      const next = [await leases.acquire(7), await leases.acquire(7)];
      expect(next).not.toContain('refused');
      expect(await redis.zcard(keys.sockets(7))).toBe(2);
    } finally {
      leases.stop();
      redis.disconnect();
      frozen.resume();
      await frozen.stop();
    }
  });
});

describe('a socket lease', () => {
  it('outlives a dead replica by half the presence grace at most (a minute at most), so its fans reconnect elsewhere within the grace', () => {
    for (const graceSeconds of [4, 10, 30, 60]) expect(socketLeaseMs(graceSeconds)).toBeLessThanOrEqual((graceSeconds * 1000) / 2);
    expect(socketLeaseMs(10)).toBe(5000);
    expect(socketLeaseMs(600)).toBe(60_000);
  });
});

describe('socket leases after Redis lost them', () => {
  it('counts the open sockets again at the next renewal: the account gets no more than its limit', async () => {
    const redis = createRedis({ url: server.env.REDIS_URL! });
    const keys = redisKeys(`${server.env.REDIS_KEY_PREFIX!}:lost-leases`);
    const leaseMs = 600;
    const leases = new SocketLeases(redis, keys, 2, leaseMs, new Counter({ name: 'refusals', help: 'refusals', labelNames: ['limit'], registers: [] }));
    try {
      await redisReady(redis);
      const open = [await leases.acquire(7), await leases.acquire(7)];
      expect(open).not.toContain('refused');
      expect(await leases.acquire(7)).toBe('refused');
      // Redis loses the account's count while both sockets stay open.
      await redis.del(keys.sockets(7));
      // A renewal (every third of a lease) counts them again.
      await vi.waitFor(async () => expect(await redis.zcard(keys.sockets(7))).toBe(2), { timeout: leaseMs * 2, interval: 20 });
      expect(await leases.acquire(7)).toBe('refused');
      // A closed socket's place is free again, and not taken back by a renewal.
      await leases.release(open[0] as Exclude<(typeof open)[0], 'refused' | undefined>);
      await new Promise((resolve) => setTimeout(resolve, leaseMs));
      expect(await redis.zcard(keys.sockets(7))).toBe(1);
      expect(await leases.acquire(7)).not.toBe('refused');
    } finally {
      leases.stop();
      await redis.del(keys.sockets(7));
      redis.disconnect();
    }
  });
});

describe('graphql-ws connections per account (MAX_SOCKETS_PER_USER)', () => {
  it('closes the one over the limit with 4429, on any replica; other accounts connect; a closed socket frees its place', async () => {
    const fan = await fanOf(server);
    const first = await connect(server, fan.token);
    const second = await connect(replica, fan.token);
    expect(first.open && second.open).toBe(true);

    const third = await connect(replica, fan.token);
    expect(third).toMatchObject({ open: false, code: 4429 });
    expect(third.open ? '' : third.reason).toMatch(/At most 2 connections per account/);
    expect(await connect(server, fan.token)).toMatchObject({ open: false, code: 4429 });

    const other = await connect(server, (await fanOf(server)).token);
    expect(other.open).toBe(true);

    if (first.open) await first.client.dispose();
    // The lease goes when the server sees the close.
    let again: Outcome | undefined;
    for (let attempt = 0; attempt < 20 && !again?.open; attempt++) {
      again = await connect(server, fan.token);
      if (!again.open) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(again?.open).toBe(true);
    for (const outcome of [second, other, again]) if (outcome?.open) await outcome.client.dispose();

    const metrics = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/rate_limit_refusals_total\{limit="sockets"\} [1-9]/);
  });

  it('keeps at most 20 sockets without a valid token open per address (4429 beyond); tokens, other addresses and freed places still get in', async () => {
    const open = (ip: string, authorization?: string) => openBareSocket(server.wsUrl, ip, authorization);
    const ip = freshIp();
    const sockets: WebSocket[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const outcome = await open(ip, i % 2 ? 'Bearer not-a-token' : undefined);
        if (!('socket' in outcome)) throw new Error(`socket ${i + 1} closed: ${outcome.code}`);
        sockets.push(outcome.socket);
      }
      expect(await open(ip)).toMatchObject({ code: 4429, reason: expect.stringMatching(/without a valid token/) });
      const fan = await fanOf(server);
      const others = [await open(freshIp()), await open(ip, `Bearer ${fan.token}`)];
      for (const outcome of others) {
        expect('socket' in outcome).toBe(true);
        if ('socket' in outcome) sockets.push(outcome.socket);
      }
      // A closed socket frees its place once the server sees the close.
      sockets.shift()!.close();
      let again: Awaited<ReturnType<typeof open>> | undefined;
      for (let attempt = 0; attempt < 20 && !(again && 'socket' in again); attempt++) {
        again = await open(ip);
        if (!('socket' in again)) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(again && 'socket' in again).toBe(true);
      if (again && 'socket' in again) sockets.push(again.socket);
    } finally {
      for (const socket of sockets) socket.close();
    }
    const metrics = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/rate_limit_refusals_total\{limit="anonymous_sockets"\} [1-9]/);
  });

  it('keeps at most 100 sockets per address open that have not sent connection_init (1013 beyond): one address cannot keep thousands open', async () => {
    const ip = freshIp();
    const silent: WebSocket[] = [];
    const outcomes: Promise<number | 'open'>[] = [];
    try {
      for (let i = 0; i < 110; i++) {
        const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws', { headers: { 'x-forwarded-for': ip } });
        silent.push(socket);
        outcomes.push(
          new Promise((resolve) => {
            // Open, and not closed 300 ms after its upgrade: kept (the server refuses at the upgrade, and
            // the 3 s wait for connection_init has not run out). Timed from the upgrade, not from
            // the attempt: on a loaded machine an upgrade may take longer than that to be answered.
            let kept: NodeJS.Timeout | undefined;
            socket.once('open', () => (kept = setTimeout(() => resolve('open'), 300)));
            socket.once('close', (code) => {
              clearTimeout(kept);
              resolve(code);
            });
          }),
        );
      }
      const codes = await Promise.all(outcomes);
      expect(codes.filter((code) => code === 'open')).toHaveLength(100);
      expect(codes.filter((code) => code === 1013)).toHaveLength(10);
      // A closed one frees its place (at the server's next sweep, one a second): a fan with a token from
      // that address gets in then. Tried until it does (refused attempts count nothing), a few sweeps at most.
      const fan = await fanOf(server);
      silent.shift()!.close();
      const signedIn = await vi.waitFor(
        async () => {
          const outcome = await openBareSocket(server.wsUrl, ip, `Bearer ${fan.token}`);
          if (!('socket' in outcome)) throw new Error(`refused: ${outcome.code} ${outcome.reason}`);
          return outcome.socket;
        },
        { timeout: 3000, interval: 100 },
      );
      signedIn.close();
    } finally {
      for (const socket of silent) socket.close();
    }
  });

  it('closes a socket that floods messages with 4429 and reads no more of it; other requests are answered meanwhile, and a socket within its budget stays open', async () => {
    const refusals = async () => Number(/rate_limit_refusals_total\{limit="socket_messages"\} (\d+)/.exec(await (await fetch(server.url.replace('/graphql', '/metrics'))).text())?.[1] ?? 0);
    const before = await refusals();
    const ping = JSON.stringify({ type: 'ping' });
    // No token needed: one socket's pings, answered one by one, kept every other request waiting for seconds.
    const flood = await openBareSocket(server.wsUrl, freshIp());
    if (!('socket' in flood)) throw new Error(`not opened: ${flood.code}`);
    let pongs = 0;
    flood.socket.on('message', () => pongs++);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => flood.socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    for (let i = 0; i < 20_000; i++) flood.socket.send(ping);
    const started = Date.now();
    const { body } = await gql(server.url, '{ concerts { id } }', {}, { ip: freshIp() });
    expect(body.errors).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await closed).toEqual({ code: 4429, reason: 'Too many messages on this connection: slow down.' });
    expect(pongs).toBeLessThan(1000);
    expect(await refusals()).toBe(before + 1);

    // A fan's page sends a few a minute: a burst of 150 is answered in full.
    const calm = await openBareSocket(server.wsUrl, freshIp());
    if (!('socket' in calm)) throw new Error(`not opened: ${calm.code}`);
    let answered = 0;
    calm.socket.on('message', (data) => void ((JSON.parse(String(data)) as { type: string }).type === 'pong' && answered++));
    for (let i = 0; i < 150; i++) calm.socket.send(ping);
    await vi.waitFor(() => expect(answered).toBe(150), { timeout: 5000, interval: 20 });
    expect(calm.socket.readyState).toBe(WebSocket.OPEN);
    calm.socket.close();
  });

  it('weighs a large message by its size (each 10 KB one more): 30 pings of 90 KB at once close the socket with 4429', async () => {
    const heavy = await openBareSocket(server.wsUrl, freshIp());
    if (!('socket' in heavy)) throw new Error(`not opened: ${heavy.code}`);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => heavy.socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    // Each weighs 1 + 9: 300 against a burst of 200. Counted one each, 30 would be nothing.
    const ping = JSON.stringify({ type: 'ping', payload: { pad: 'x'.repeat(90 * 1024) } });
    for (let i = 0; i < 30; i++) heavy.socket.send(ping);
    expect(await Promise.race([closed, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 5000))])).toEqual({ code: 4429, reason: 'Too many messages on this connection: slow down.' });
    heavy.socket.close();
  });

  it('closes a socket that never sends connection_init within 3 s (4408)', async () => {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const started = Date.now();
    const code = await new Promise<number>((resolve) => socket.once('close', (closeCode) => resolve(closeCode)));
    expect(code).toBe(4408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
  });

  it('closes a socket that sends an invalid frame (1007, 1009) without an "internal error" on stderr, and goes on serving', async () => {
    const printed = vi.spyOn(console, 'error');
    try {
      const closeAfter = async (send: (socket: WebSocket) => void): Promise<number> => {
        const opened = await openBareSocket(server.wsUrl, freshIp());
        if (!('socket' in opened)) throw new Error(`not opened: ${opened.code}`);
        const { socket } = opened;
        const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
        send(socket);
        return closed;
      };
      // Text that is not UTF-8, and a message over the 100 KB frame limit.
      expect(await closeAfter((socket) => socket.send(Buffer.from([0xc3, 0x28]), { binary: false }))).toBe(1007);
      expect(await closeAfter((socket) => socket.send('x'.repeat(200 * 1024)))).toBe(1009);
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
    }
    const after = await connect(server, (await fanOf(server)).token);
    expect(after.open).toBe(true);
    if (after.open) await after.client.dispose();
  });
});

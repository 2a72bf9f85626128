import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { ENTER, LEAVE, type QueueStatus, STATUS, STATUS_SUBSCRIPTION } from '../support/operations';
import { startTestServer, type TestServer } from './support/harness';
import { Feed, signUp, signUpMany, wsClient, type Account } from './support/client';
import { createConcert } from './support/fixtures';
import { activeFans, channelSubscribers, seatFeed } from './support/booking';
import { redisKeys } from '../src/redis';

// Short ACTIVE time, so ACTIVE → NONE and the hand-over of the slot happen within the test; not
// shorter, as a loaded machine took over 2 s to open a seat feed after the admission (its window
// then closed before the feed was live).
const ACTIVE_TTL_SECONDS = 4;

let server: TestServer;
let api: Api;
const clients: ReturnType<typeof wsClient>[] = [];

beforeAll(async () => {
  server = await startTestServer('queue_live', { ACTIVE_TTL_SECONDS: String(ACTIVE_TTL_SECONDS) });
  api = new Api(server.url);
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await server.stop();
});

type Message = { queueStatus: QueueStatus };

function watch(fan: Account, concertId: string): Feed<Message> {
  const client = wsClient(server.wsUrl, fan.token);
  clients.push(client);
  return new Feed<Message>(client, STATUS_SUBSCRIPTION, { id: concertId });
}

async function nextStatus(feed: Feed<Message>, timeoutMs = 3000): Promise<QueueStatus> {
  const message = await feed.next(timeoutMs);
  if (!message.data) throw new Error(`error message: ${JSON.stringify(message.errors)}`);
  return message.data.queueStatus;
}

describe('queueStatus subscription', () => {
  it('pushes the caller’s own enter and leave at once, not at the next tick', async () => {
    // Workers off on a second server: no tick ever runs there, so only the fan's own change can push.
    const quiet = await startTestServer('queue_live_quiet', { RUN_WORKERS: 'false' });
    try {
      const { concertId } = await createConcert(quiet, { maxActiveUsers: 1 });
      const [fan] = await signUpMany(new Api(quiet.url), 1);
      const client = wsClient(quiet.wsUrl, fan!.token);
      clients.push(client);
      const feed = new Feed<Message>(client, STATUS_SUBSCRIPTION, { id: concertId });
      expect(await nextStatus(feed)).toMatchObject({ state: 'NONE' });
      await fan!.api.data(ENTER, { id: concertId });
      expect(await nextStatus(feed, 1000)).toMatchObject({ state: 'WAITING', position: 1 });
      await fan!.api.data(LEAVE, { id: concertId });
      expect(await nextStatus(feed, 1000)).toMatchObject({ state: 'NONE' });
    } finally {
      await quiet.stop();
    }
  });

  it('sends the status at once, then each change: entering, moving up, ACTIVE, NONE', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const [first, second, me] = await signUpMany(api, 3);
    const feed = watch(me!, concertId);
    expect(await nextStatus(feed)).toMatchObject({ concertId, state: 'NONE', position: null });

    await first!.api.data(ENTER, { id: concertId });
    await second!.api.data(ENTER, { id: concertId });
    await me!.api.data(ENTER, { id: concertId });
    // Admission of `first` may land before or after our entry; either way we end at position 2.
    let status = await nextStatus(feed);
    expect(status.state).toBe('WAITING');
    if (status.position !== 2) status = await nextStatus(feed);
    expect(status).toMatchObject({ state: 'WAITING', position: 2 });
    expect(status.estimatedWaitSeconds).toBeGreaterThan(0);

    await second!.api.data(LEAVE, { id: concertId });
    expect(await nextStatus(feed)).toMatchObject({ state: 'WAITING', position: 1 });

    // `first` expires after ACTIVE_TTL_SECONDS and the slot passes to us.
    const active = await nextStatus(feed, (ACTIVE_TTL_SECONDS + 2) * 1000);
    expect(active).toMatchObject({ state: 'ACTIVE', position: null, estimatedWaitSeconds: null });
    expect(Date.parse(active.activeUntil!)).toBeGreaterThan(Date.now());

    let none = await nextStatus(feed, (ACTIVE_TTL_SECONDS + 2) * 1000);
    // The line's figures (counts refreshed every few seconds) may move meanwhile: pushed ACTIVE again.
    while (none.state === 'ACTIVE' && none.activeUntil === active.activeUntil) none = await nextStatus(feed, (ACTIVE_TTL_SECONDS + 2) * 1000);
    expect(none).toMatchObject({ state: 'NONE', activeUntil: null });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(active.activeUntil!));
    expect(feed.pending()).toBe(0);
  });

  it('does not send anything while nothing about the subscriber changes', async () => {
    // A server of its own, with the default ACTIVE time: the holder's slot outlasts the test, where
    // ACTIVE_TTL_SECONDS here could end it on a slow machine and push our fan ACTIVE.
    const steady = await startTestServer('queue_live_steady');
    try {
      const steadyApi = new Api(steady.url);
      const { concertId } = await createConcert(steady, { maxActiveUsers: 1 });
      const [holder, me] = await signUpMany(steadyApi, 2);
      await holder!.api.data(ENTER, { id: concertId });
      await me!.api.data(ENTER, { id: concertId });
      await vi.waitFor(async () => expect((await me!.api.data<{ queueStatus: QueueStatus }>(STATUS, { id: concertId })).queueStatus.position).toBe(1), { timeout: 3000, interval: 50 });
      const client = wsClient(steady.wsUrl, me!.token);
      clients.push(client);
      const feed = new Feed<Message>(client, STATUS_SUBSCRIPTION, { id: concertId });
      expect(await nextStatus(feed)).toMatchObject({ state: 'WAITING', position: 1 });
      // Fans entering behind us change the queue, not our place: several ticks pass in silence.
      const behind = await signUpMany(steadyApi, 3);
      for (const fan of behind) await fan.api.data(ENTER, { id: concertId });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(feed.pending()).toBe(0);
    } finally {
      await steady.stop();
    }
  });

  it('pushes the line’s new counts once to those who lack them, and nothing again to a fan whose own change carried them', async () => {
    const counts = await startTestServer('queue_live_counts');
    try {
      const countsApi = new Api(counts.url);
      const { concertId } = await createConcert(counts, { maxActiveUsers: 1 });
      const [holder, early, late] = await signUpMany(countsApi, 3);
      await holder!.api.data(ENTER, { id: concertId });
      await vi.waitFor(async () => expect((await holder!.api.data<{ queueStatus: QueueStatus }>(STATUS, { id: concertId })).queueStatus.state).toBe('ACTIVE'), { timeout: 5000, interval: 50 });
      await early!.api.data(ENTER, { id: concertId });
      const feedOf = (fan: Account) => {
        const client = wsClient(counts.wsUrl, fan.token);
        clients.push(client);
        return new Feed<Message>(client, STATUS_SUBSCRIPTION, { id: concertId });
      };
      const earlyFeed = feedOf(early!);
      const lateFeed = feedOf(late!);
      expect(await nextStatus(earlyFeed)).toMatchObject({ state: 'WAITING', position: 1, waiting: 1 });
      expect(await nextStatus(lateFeed)).toMatchObject({ state: 'NONE', waiting: 1 });
      await late!.api.data(ENTER, { id: concertId });
      // The late fan's own entry is pushed at once, with the line as it now is.
      expect(await nextStatus(lateFeed, 1000)).toMatchObject({ state: 'WAITING', position: 2, waiting: 2 });
      // The early fan hears the new count with the line's next counts push (at most every 5 s)…
      expect(await nextStatus(earlyFeed, 8000)).toMatchObject({ state: 'WAITING', position: 1, waiting: 2 });
      // …and the late fan, who had it already, hears nothing again (a tick or two after it).
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(lateFeed.pending()).toBe(0);
    } finally {
      await counts.stop();
    }
  });

  it('applies the cost limit and validation to subscriptions too', async () => {
    const fan = await signUp(api);
    const client = wsClient(server.wsUrl, fan.token);
    clients.push(client);
    // 600 fields in few tokens (a document of over 1,000 is not even parsed): a fragment counts wherever it is spread.
    const fields = `fragment F on QueueStatus { ${Array.from({ length: 20 }, (_, i) => `f${i}: state`).join(' ')} }`;
    const wide = `subscription { queueStatus(concertId: "1") { ${'...F '.repeat(30)}} } ${fields}`;
    expect((await new Feed<Message>(client, wide, {}).next()).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const unknownField = 'subscription { queueStatus(concertId: "1") { nope } }';
    expect((await new Feed<Message>(client, unknownField, {}).next()).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await new Feed<Message>(client, 'subscription {', {}).next()).errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    // Variables that do not fit, or no operation to run: the codes HTTP answers, not an internal error.
    const missing = (await new Feed<Message>(client, STATUS_SUBSCRIPTION, {}).next()).errors?.[0];
    expect(missing?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(missing?.message).toMatch(/\$id/);
    expect((await new Feed<Message>(client, STATUS_SUBSCRIPTION, { id: { nested: 1 } }).next()).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const two = 'subscription A { queueStatus(concertId: "999999999") { state } } subscription B { queueStatus(concertId: "999999999") { state } }';
    expect((await new Feed<Message>(client, two, {}).next()).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await new Feed<Message>(client, two, {}, 'C').next()).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // Named, one of them runs (and finds no such concert).
    expect((await new Feed<Message>(client, two, {}, 'B').next()).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // A root field skipped by a non-null variable makes graphql-js throw while validating: that one
    // document fails, and the socket, with whatever else runs on it, stays (it was closed with 4500).
    const skipped = 'subscription($s: Boolean!) { queueStatus(concertId: "1") @skip(if: $s) { state } }';
    expect((await new Feed<Message>(client, skipped, { s: true }).next()).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await new Feed<Message>(client, unknownField, {}).next()).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses without a token and for an unknown concert', async () => {
    const anonymous = wsClient(server.wsUrl);
    clients.push(anonymous);
    const refused = new Feed<Message>(anonymous, STATUS_SUBSCRIPTION, { id: '1' });
    expect((await refused.next()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const fan = await signUp(api);
    const unknown = watch(fan, '999999');
    expect((await unknown.next()).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('the end of the ACTIVE window', () => {
  it('ends a seatChanged subscription with NOT_ACTIVE once the fan’s ACTIVE time runs out, and lets go of its channel', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1 });
    const [fan] = await activeFans(api, concertId, 1);
    const { queueStatus } = await fan!.api.data<{ queueStatus: QueueStatus }>(STATUS, { id: concertId });
    const activeUntil = Date.parse(queueStatus.activeUntil!);
    const { feed, close } = await seatFeed(server, fan!, scheduleIds[0]!);
    const topic = server.app.services.seatEvents.topic(Number(scheduleIds[0]));
    const subscribers = () => channelSubscribers(server.app.redis, topic);
    try {
      const ended = await feed.next((ACTIVE_TTL_SECONDS + 2) * 1000);
      expect(ended.errors?.[0]?.extensions?.code).toBe('NOT_ACTIVE');
      // Not before the window closed (both clocks are this machine's).
      expect(Date.now()).toBeGreaterThanOrEqual(activeUntil - 50);
      // The gate closed its source: the only subscriber's Redis channel is released.
      await vi.waitFor(async () => expect(await subscribers()).toBe(0), { timeout: 3000, interval: 50 });
    } finally {
      await close();
    }
  });
});

describe('replicas following a concert', () => {
  it('are forgotten once no fan is followed there any more (no entry kept per process for good)', async () => {
    const { concertId } = await createConcert(server);
    const [fan] = await signUpMany(api, 1);
    const replicas = redisKeys(server.app.config.redisPrefix).queue(Number(concertId)).replicas;
    const client = wsClient(server.wsUrl, fan!.token);
    const feed = new Feed<Message>(client, STATUS_SUBSCRIPTION, { id: concertId });
    expect(await nextStatus(feed)).toMatchObject({ state: 'NONE' });
    await vi.waitFor(async () => expect(await server.app.redis.zcard(replicas)).toBe(1), { timeout: 3000, interval: 20 });
    await client.dispose();
    await vi.waitFor(async () => expect(await server.app.redis.zcard(replicas)).toBe(0), { timeout: 3000, interval: 50 });
  });
});

describe('admission tick', () => {
  it.each(['wait', 'stats'] as const)('still admits and announces on other concerts when one concert’s queue state is corrupt (its %s)', async (key) => {
    const keys = redisKeys(server.app.config.redisPrefix);
    const broken = await createConcert(server);
    const brokenKey = keys.queue(Number(broken.concertId))[key];
    // A string where the tick expects a sorted set or a hash: that concert's script or read fails with
    // WRONGTYPE (as its node failing over on a Cluster would fail them).
    await server.app.redis.set(brokenKey, 'not what the tick expects');
    await server.app.redis.sadd(keys.queueIndex, broken.concertId);
    try {
      const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
      const [fan] = await signUpMany(api, 1);
      const feed = watch(fan!, concertId);
      expect(await nextStatus(feed)).toMatchObject({ concertId, state: 'NONE' });
      await fan!.api.data(ENTER, { id: concertId });
      const active = await feed.until((message) => message.data?.queueStatus.state === 'ACTIVE', 5000);
      expect(active.data?.queueStatus).toMatchObject({ concertId, state: 'ACTIVE' });
    } finally {
      await server.app.redis.del(brokenKey);
    }
  });
});

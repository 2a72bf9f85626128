import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedis, redisKeys, redisReady, runScript, SCRIPTS, type RedisClient } from '../src/redis';
import { HOLD_BEING_PAID, HOLD_EXTEND, HOLD_LISTING_KEEP, HOLD_RELEASE, HOLD_SEAT, HOLD_STATUS, HOLD_SWEEP, HOLD_UNKEEP } from '../src/redis/hold-scripts';
import { drawPreQueueScore } from '../src/queue/draw';
import { serializeError } from '../src/logger';
import { INVENTORY_MARK, INVENTORY_READ, INVENTORY_REBUILD } from '../src/redis/inventory-scripts';
import { PUBLISH_ONCE, PUBLISH_SEAT_CHANGE, PUBLISH_TICK, SEAT_LOG_CURSOR, SEAT_LOG_SINCE } from '../src/redis/pubsub-scripts';
import {
  DEPARTURES_TTL_MS,
  QUEUE_ADMIT,
  QUEUE_CLOSE_SOLD_OUT,
  CLOSE_ALREADY_CLOSED,
  CLOSE_CLOSED_NOW,
  CLOSE_REOPENED,
  QUEUE_END_ACTIVE,
  QUEUE_ENTER,
  QUEUE_FEED,
  QUEUE_FIGURES_NOW,
  QUEUE_HEARTBEAT,
  BEAT_FORGOTTEN,
  BEAT_KNOWN,
  BEAT_MISMATCHED,
  QUEUE_LEAVE,
  QUEUE_REOPEN,
  QUEUE_SEATS_LEFT,
  QUEUE_STATUS,
  QUEUE_UNWATCH,
  QUEUE_WATCH,
  SALES_RESTORE,
  SALES_SET,
  SALES_UNKNOWN,
} from '../src/redis/queue-scripts';
import { decodeDepartures, placeAfter } from '../src/queue/departures';
import { watchBeat } from '../src/queue/queue-service';
import { decodeFeedReply, decodeWatchReply } from '../src/queue/queue-status';
import { SOCKET_OPEN, SOCKET_RENEW } from '../src/redis/socket-scripts';
import { COUNT_BOTH, GIVE_BACK } from '../src/redis/limit-scripts';
import type { Script, ScriptArg, ScriptKeys } from '../src/redis/script';
import { LOCAL_REDIS_URL, wipeRedisKeys } from '../support/sandbox';
import { TEST_REDIS } from './support/harness';

// Every script called directly against real Redis, no server: each test works on its own concert or
// schedule under a prefix no other run shares.
const prefix = `test:lua-scripts:${randomUUID()}`;
const keys = redisKeys(prefix);
let redis: RedisClient;
let nextId = 1;
const called = new Set<string>();

/**
 * The scripts whose reply starts with the queue's figures: their last three (the departures log's
 * epoch, position and last stamp) are left out here, so replies compare as plain arrays; the log has its own tests.
 */
const FIGURE_REPLIES = new Set([QUEUE_STATUS.name, QUEUE_ENTER.name, QUEUE_LEAVE.name, QUEUE_FIGURES_NOW.name]);

/** runScript, noting which scripts the file has called. */
async function run<K extends readonly string[], A extends readonly ScriptArg[], R>(script: Script<K, A, R>, scriptKeys: ScriptKeys<K>, ...args: A): Promise<R> {
  called.add(script.name);
  let reply = await runScript(redis, script, scriptKeys, ...args);
  // ENTER ends with whether it opened sales, whether its entrant had lapsed and whether others were in line; the tests of those read them themselves.
  if (script.name === QUEUE_ENTER.name && Array.isArray(reply) && reply.length > 1) reply = reply.slice(0, -3) as Awaited<R>;
  if (FIGURE_REPLIES.has(script.name) && Array.isArray(reply) && reply.length >= 10) return [...reply.slice(0, 7), ...reply.slice(10)] as R;
  return reply;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function redisNow(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

beforeAll(async () => {
  redis = createRedis(TEST_REDIS);
  await redisReady(redis);
});
afterAll(async () => {
  await wipeRedisKeys(redis, prefix);
  redis.disconnect();
});


/** QUEUE_END_ACTIVE's endingBy that any slot meets. */
const ANY_SLOT = Number.MAX_SAFE_INTEGER;
describe('script declarations', () => {
  it('derive the key count from the key names, and every name is unique', () => {
    for (const script of SCRIPTS) expect(script.numberOfKeys).toBe(script.keys.length);
    expect(new Set(SCRIPTS.map((script) => script.name)).size).toBe(SCRIPTS.length);
  });

  it('include each shared Lua function once, before the body that calls it', () => {
    for (const script of SCRIPTS.filter((declared) => declared.lua.includes('redisNow()'))) {
      expect(script.lua.match(/local function redisNow\(/g)).toHaveLength(1);
      expect(script.lua.indexOf('local function redisNow(')).toBeLessThan(script.lua.indexOf('redisNow()'));
    }
    expect(HOLD_SEAT.lua.indexOf('local function purgeLapsed(')).toBeLessThan(HOLD_SEAT.lua.indexOf('purgeLapsed(bySeatKey'));
    expect(QUEUE_STATUS.lua.indexOf('local function statusReply(')).toBeLessThan(QUEUE_STATUS.lua.indexOf('return statusReply('));
  });

  it('fail clearly on a connection that did not register them', async () => {
    const plain = new Redis(LOCAL_REDIS_URL, { lazyConnect: true });
    expect(() => runScript(plain, HOLD_SWEEP, keys.holds(0))).toThrow(/not registered/);
    plain.disconnect();
  });
});

describe('hold scripts', () => {
  const schedule = () => keys.holds(nextId++);
  const TTL = 60_000;

  it('first caller wins: a rival gets TAKEN, the holder SAME with the same hold id', async () => {
    const k = schedule();
    const [first, rival] = await Promise.all([run(HOLD_SEAT, k, 5, 1, 'hold-a', TTL, 10), run(HOLD_SEAT, k, 5, 2, 'hold-b', TTL, 10)]);
    expect(first).toEqual(['NEW', 'hold-a', expect.stringMatching(/^\d+$/)]);
    expect(rival).toEqual(['TAKEN', '', '']);

    const again = await run(HOLD_SEAT, k, 5, 1, 'hold-c', TTL, 10);
    expect(again).toEqual(['SAME', 'hold-a', first[2]]);
    expect(await redis.hget(k.bySeat, '5')).toBe(`hold-a|1|${first[2]}`);
    expect(await redis.zscore(k.expiry, '5')).toBe(first[2]);
    // SAME does not count a second hold against the user.
    expect(await redis.hget(k.perUser, '1')).toBe('1');
    expect(await redis.hget(k.perUser, '2')).toBeNull();
  });

  it('expires a new hold ttlMs after Redis time', async () => {
    const k = schedule();
    const before = await redisNow();
    const [, , expiresAt] = await run(HOLD_SEAT, k, 1, 1, 'h', TTL, 10);
    const after = await redisNow();
    expect(Number(expiresAt)).toBeGreaterThanOrEqual(before + TTL);
    expect(Number(expiresAt)).toBeLessThanOrEqual(after + TTL);
  });

  it('answers LIMIT once the user holds maxPerUser seats; other users are not limited', async () => {
    const k = schedule();
    expect((await run(HOLD_SEAT, k, 1, 1, 'h1', TTL, 2))[0]).toBe('NEW');
    expect((await run(HOLD_SEAT, k, 2, 1, 'h2', TTL, 2))[0]).toBe('NEW');
    expect(await run(HOLD_SEAT, k, 3, 1, 'h3', TTL, 2)).toEqual(['LIMIT', '', '']);
    expect(await redis.hexists(k.bySeat, '3')).toBe(0);
    expect(await redis.hget(k.perUser, '1')).toBe('2');
    // A seat the user already holds is SAME even at the limit.
    expect((await run(HOLD_SEAT, k, 1, 1, 'h4', TTL, 2))[0]).toBe('SAME');
    expect((await run(HOLD_SEAT, k, 3, 2, 'h5', TTL, 2))[0]).toBe('NEW');
  });

  it('releases only for the owner with the right hold id', async () => {
    const k = schedule();
    await run(HOLD_SEAT, k, 7, 1, 'mine', TTL, 10);
    expect(await run(HOLD_RELEASE, k, 7, 'mine', 2, 0, 0)).toEqual([0, []]);
    expect(await run(HOLD_RELEASE, k, 7, 'other', 1, 0, 0)).toEqual([0, []]);
    expect(await run(HOLD_RELEASE, k, 8, 'mine', 1, 0, 0)).toEqual([0, []]);
    expect(await redis.hget(k.perUser, '1')).toBe('1');

    expect(await run(HOLD_RELEASE, k, 7, 'mine', 1, 0, 0)).toEqual([1, []]);
    expect(await redis.hexists(k.bySeat, '7')).toBe(0);
    expect(await redis.zscore(k.expiry, '7')).toBeNull();
    expect(await redis.hexists(k.perUser, '1')).toBe(0);
    expect(await run(HOLD_RELEASE, k, 7, 'mine', 1, 0, 0)).toEqual([0, []]);
    // The seat is free again, for anyone.
    expect((await run(HOLD_SEAT, k, 7, 2, 'theirs', TTL, 10))[0]).toBe('NEW');
  });

  it('releases unless claimed: a hold handed out again (SAME) is not released for the request that made it and lost the answer', async () => {
    const k = schedule();
    await run(HOLD_SEAT, k, 7, 1, 'made', TTL, 10);
    // Not handed out again: the request that made it gives it back.
    expect(await run(HOLD_RELEASE, k, 7, 'made', 1, 0, 1)).toEqual([1, []]);
    await run(HOLD_SEAT, k, 7, 1, 'made-again', TTL, 10);
    expect(await run(HOLD_SEAT, k, 7, 1, 'a-retry', TTL, 10)).toEqual(['SAME', 'made-again', expect.any(String)]);
    expect(await run(HOLD_RELEASE, k, 7, 'made-again', 1, 0, 1)).toEqual([0, []]);
    expect(await redis.hget(k.bySeat, '7')).toMatch(/^made-again\|1\|/);
    // The fan's own release still works, and forgets the claim with the hold.
    expect(await run(HOLD_RELEASE, k, 7, 'made-again', 1, 0, 0)).toEqual([1, []]);
    expect(await redis.hexists(k.takenUntil, 'claimed:7')).toBe(0);
  });

  it('purges lapsed holds, returns their seats and gives back the per-user count', async () => {
    const k = schedule();
    // Short holds last 400 ms: long enough that all four are taken before any lapses, also on a busy
    // Cluster (50 ms once let the first lapse while the fourth was being taken).
    await run(HOLD_SEAT, k, 1, 1, 'short1', 400, 10);
    await run(HOLD_SEAT, k, 2, 1, 'short2', 400, 10);
    await run(HOLD_SEAT, k, 3, 1, 'long', TTL, 10);
    await run(HOLD_SEAT, k, 4, 2, 'short4', 400, 10);
    expect(await redis.hget(k.perUser, '1')).toBe('3');
    await sleep(500);

    // The lapsed seats come back from whichever script runs next, here a rival taking seat 1.
    const [outcome, , , ...purged] = await run(HOLD_SEAT, k, 1, 3, 'rival', TTL, 10);
    expect(outcome).toBe('NEW');
    expect(purged.sort()).toEqual(['1', '2', '4']);
    expect(await redis.hget(k.perUser, '1')).toBe('1');
    expect(await redis.hexists(k.perUser, '2')).toBe(0);
    expect((await redis.hkeys(k.bySeat)).sort()).toEqual(['1', '3']);
    expect((await redis.zrange(k.expiry, 0, -1)).sort()).toEqual(['1', '3']);
    // Reported once only.
    expect((await run(HOLD_STATUS, k))[0]).toEqual([]);
  });

  it('every hold script purges lapsed holds first', async () => {
    const lapse = async () => {
      const k = schedule();
      await run(HOLD_SEAT, k, 9, 1, 'lapsing', 30, 10);
      await sleep(80);
      return k;
    };
    let k = await lapse();
    expect(await run(HOLD_RELEASE, k, 9, 'lapsing', 1, 0, 0)).toEqual([0, ['9']]);
    k = await lapse();
    expect(await run(HOLD_STATUS, k, 9)).toEqual([['9'], []]);
    k = await lapse();
    expect(await run(HOLD_EXTEND, k, 1, 10_000, 9, 'lapsing')).toEqual([['9'], []]);
    k = await lapse();
    expect(await run(HOLD_SWEEP, k)).toEqual([['9'], 0]);
    expect(await redis.exists(k.bySeat, k.expiry, k.perUser)).toBe(0);
  });

  it('reports the live holds on the named seats, or on every seat when none are named', async () => {
    const k = schedule();
    const [, , a] = await run(HOLD_SEAT, k, 1, 1, 'ha', TTL, 10);
    const [, , b] = await run(HOLD_SEAT, k, 2, 2, 'hb', TTL, 10);
    expect(await run(HOLD_STATUS, k, 1, 3)).toEqual([[], ['1', `ha|1|${a}`]]);
    expect(await run(HOLD_STATUS, k, 3)).toEqual([[], []]);
    const [purged, flat] = await run(HOLD_STATUS, k);
    expect(purged).toEqual([]);
    const pairs = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) pairs.set(flat[i]!, flat[i + 1]!);
    expect(pairs).toEqual(
      new Map([
        ['1', `ha|1|${a}`],
        ['2', `hb|2|${b}`],
      ]),
    );
  });

  it('sweep returns the number of live holds left', async () => {
    const k = schedule();
    expect(await run(HOLD_SWEEP, k)).toEqual([[], 0]);
    await run(HOLD_SEAT, k, 1, 1, 'h1', TTL, 10);
    await run(HOLD_SEAT, k, 2, 2, 'h2', TTL, 10);
    await run(HOLD_SEAT, k, 3, 2, 'h3', 30, 10);
    await sleep(80);
    expect(await run(HOLD_SWEEP, k)).toEqual([['3'], 2]);
    expect(await run(HOLD_SWEEP, k)).toEqual([[], 2]);
  });

  it("extends only the user's holds with the right id, to at least now + keep, never shorter", async () => {
    const k = schedule();
    const [, , shortUntil] = await run(HOLD_SEAT, k, 1, 1, 'short', 1_000, 10);
    const [, , longUntil] = await run(HOLD_SEAT, k, 2, 1, 'long', 600_000, 10);
    const [, , rivalUntil] = await run(HOLD_SEAT, k, 3, 2, 'rival', 1_000, 10);
    const [, , fourthUntil] = await run(HOLD_SEAT, k, 4, 1, 'fourth', 1_000, 10);

    const before = await redisNow();
    // Seat 3 is another user's, seat 4 is named with the wrong id, seat 5 is not held.
    const [purged, confirmed] = await run(HOLD_EXTEND, k, 1, 30_000, 1, 'short', 2, 'long', 3, 'rival', 4, 'wrong', 5, 'none');
    const after = await redisNow();
    expect(purged).toEqual([]);
    expect(confirmed).toEqual(['1', '2']);

    const extended = Number((await redis.hget(k.bySeat, '1'))!.split('|')[2]);
    expect(extended).toBeGreaterThan(Number(shortUntil));
    expect(extended).toBeGreaterThanOrEqual(before + 30_000);
    expect(extended).toBeLessThanOrEqual(after + 30_000);
    expect(await redis.hget(k.bySeat, '1')).toBe(`short|1|${extended}`);
    expect(Number(await redis.zscore(k.expiry, '1'))).toBe(extended);
    // Already longer than the keep: unchanged.
    expect(await redis.hget(k.bySeat, '2')).toBe(`long|1|${longUntil}`);
    expect(await redis.zscore(k.expiry, '2')).toBe(longUntil);
    // Not the user's, or not that hold: untouched.
    expect(await redis.hget(k.bySeat, '3')).toBe(`rival|2|${rivalUntil}`);
    expect(await redis.hget(k.bySeat, '4')).toBe(`fourth|1|${fourthUntil}`);
    expect(await redis.hget(k.perUser, '1')).toBe('3');

    // Extending again with a shorter keep never shortens.
    expect(await run(HOLD_EXTEND, k, 1, 10, 1, 'short')).toEqual([[], ['1']]);
    expect(Number((await redis.hget(k.bySeat, '1'))!.split('|')[2])).toBe(extended);
    // No pairs: nothing confirmed.
    expect(await run(HOLD_EXTEND, k, 1, 30_000)).toEqual([[], []]);
  });

  it('a hold kept for a payment is not released by its owner until the payment is done; HOLD_UNKEEP hands it back', async () => {
    const k = schedule();
    await run(HOLD_SEAT, k, 1, 1, 'h', TTL, 10);
    await run(HOLD_SEAT, k, 2, 1, 'other', TTL, 10);
    expect(await run(HOLD_EXTEND, k, 1, 30_000, 1, 'h')).toEqual([[], ['1']]);
    // The fan's release waits for the payment's outcome; the hold stays.
    expect(await run(HOLD_RELEASE, k, 1, 'h', 1, 0, 0)).toEqual([HOLD_BEING_PAID, []]);
    expect(await redis.hexists(k.bySeat, '1')).toBe(1);
    // A second payment of the hold, with a shorter keep: two payments now, the longer keep stands.
    await run(HOLD_EXTEND, k, 1, 10, 1, 'h');
    await sleep(30);
    expect((await run(HOLD_RELEASE, k, 1, 'h', 1, 0, 0))[0]).toBe(HOLD_BEING_PAID);
    // A payment that failed takes back its own mark: only the user's, of that hold, and one at a time,
    // so the other payment still keeps the hold.
    await run(HOLD_UNKEEP, k, 2, 30_000, 1, 'h');
    await run(HOLD_UNKEEP, k, 1, 30_000, 1, 'wrong');
    await run(HOLD_UNKEEP, k, 1, 30_000, 1, 'h');
    expect((await run(HOLD_RELEASE, k, 1, 'h', 1, 0, 0))[0]).toBe(HOLD_BEING_PAID);
    await run(HOLD_UNKEEP, k, 1, 30_000, 1, 'h');
    expect(await run(HOLD_RELEASE, k, 1, 'h', 1, 0, 0)).toEqual([1, []]);
    // The payment's own release (evenIfPaying) goes through, and the mark goes with the hold.
    await run(HOLD_EXTEND, k, 1, 30_000, 2, 'other');
    expect(await run(HOLD_RELEASE, k, 2, 'other', 1, 1, 0)).toEqual([1, []]);
    expect(await redis.hexists(k.paying, '2')).toBe(0);
    // A stale mark (one an earlier version's release left) does not outlive a new hold of the seat.
    await redis.hset(k.paying, '3', `1:${(await redisNow()) + 60_000}`);
    await run(HOLD_SEAT, k, 3, 1, 'fresh', TTL, 10);
    expect(await run(HOLD_RELEASE, k, 3, 'fresh', 1, 0, 0)).toEqual([1, []]);
    // Nor does the count of a mark whose time is past (payments that died): a new payment counts one.
    await run(HOLD_SEAT, k, 4, 1, 'again', TTL, 10);
    await redis.hset(k.paying, '4', '5:1');
    await run(HOLD_EXTEND, k, 1, 30_000, 4, 'again');
    expect(await redis.hget(k.paying, '4')).toMatch(/^1:\d+$/);
  });

  it('a hold no payment keeps any more goes back to the expiry it was taken with, or lapses if that has passed', async () => {
    const k = schedule();
    const [, , takenUntil] = await run(HOLD_SEAT, k, 1, 1, 'h', 1_500, 10);
    const expiresAt = async () => Number((await redis.hget(k.bySeat, '1'))!.split('|')[2]);
    await run(HOLD_EXTEND, k, 1, 30_000, 1, 'h');
    await run(HOLD_EXTEND, k, 1, 30_000, 1, 'h');
    expect(await expiresAt()).toBeGreaterThan(Number(takenUntil) + 20_000);
    // One of two payments failed: the other still keeps it.
    await run(HOLD_UNKEEP, k, 1, 30_000, 1, 'h');
    expect(await expiresAt()).toBeGreaterThan(Number(takenUntil) + 20_000);
    // Both failed, before the hold's own end: that end again.
    await run(HOLD_UNKEEP, k, 1, 30_000, 1, 'h');
    expect(await expiresAt()).toBe(Number(takenUntil));
    expect(await redis.zscore(k.expiry, '1')).toBe(String(takenUntil));
    // Failed after it: the hold lapses now, and the next sweep frees the seat.
    await run(HOLD_EXTEND, k, 1, 30_000, 1, 'h');
    await sleep(Math.max(0, Number(takenUntil) - (await redisNow()) + 50));
    await run(HOLD_UNKEEP, k, 1, 30_000, 1, 'h');
    expect(await run(HOLD_SWEEP, k)).toEqual([['1'], 0]);
  });

  it('leaves a hold its expiry when its takenUntil is a leftover of an earlier hold of the seat (taken by an earlier version)', async () => {
    const k = schedule();
    const [, , expiry] = await run(HOLD_SEAT, k, 1, 1, 'h', 600_000, 10);
    await redis.hset(k.takenUntil, '1', (await redisNow()) - 60_000);
    await run(HOLD_EXTEND, k, 1, 30_000, 1, 'h');
    await run(HOLD_UNKEEP, k, 1, 30_000, 1, 'h');
    expect(await redis.hget(k.bySeat, '1')).toBe(`h|1|${expiry}`);
  });

  it('keeps a user’s listing of holds until its last hold lapses: its expiry only moves later', async () => {
    const listing = keys.userHolds(900_001);
    const now = await redisNow();
    const expiry = async () => Number(await redis.call('PEXPIRETIME', listing));
    // Keeping a listing that does not exist makes none.
    expect(await run(HOLD_LISTING_KEEP, { listing }, now + 60_000)).toBe(0);
    expect(await redis.exists(listing)).toBe(0);
    expect(await run(HOLD_LISTING_KEEP, { listing }, now + 60_000, 'a')).toBe(1);
    expect(await expiry()).toBe(now + 60_000);
    await run(HOLD_LISTING_KEEP, { listing }, now + 90_000, 'b');
    // Holding 'a' again, with its earlier expiry, leaves the listing to 'b's.
    await run(HOLD_LISTING_KEEP, { listing }, now + 60_000, 'a');
    expect(await expiry()).toBe(now + 90_000);
    expect(await redis.zrange(listing, 0, -1, 'WITHSCORES')).toEqual(['a', String(now + 60_000), 'b', String(now + 90_000)]);
    // A payment's keep moves it later only.
    await run(HOLD_LISTING_KEEP, { listing }, now + 120_000);
    expect(await expiry()).toBe(now + 120_000);
    await run(HOLD_LISTING_KEEP, { listing }, now + 100_000);
    expect(await expiry()).toBe(now + 120_000);
  });

  it('keeps a hold for payments at most keep ms past the expiry it was taken with, however often they try', async () => {
    const k = schedule();
    // Long enough for the first attempt to come before the hold's own end on a loaded machine.
    const [, , takenUntil] = await run(HOLD_SEAT, k, 1, 1, 'h', 1_000, 10);
    const keptUntil = Number(takenUntil) + 300;
    // A payment attempt every 50 ms, each failing after its extension (as one naming a hold that does not exist).
    // Judged by Redis time read around each attempt, which ran somewhere between the two readings.
    let lastKeptAt = 0;
    for (;;) {
      const before = await redisNow();
      const [purged, confirmed] = await run(HOLD_EXTEND, k, 1, 300, 1, 'h');
      const after = await redisNow();
      if (confirmed.length === 0) {
        // Lapsed, but not before the last attempt's keep ran out: 300 ms on, or keptUntil if sooner
        // (on a machine slow enough to space the attempts 300 ms apart, the former).
        expect(purged).toEqual(['1']);
        expect(after).toBeGreaterThanOrEqual(Math.max(Number(takenUntil), Math.min(lastKeptAt + 300, keptUntil)));
        break;
      }
      // Kept, but never by an attempt that began at keptUntil or later.
      expect(before).toBeLessThan(keptUntil);
      lastKeptAt = before;
      await sleep(50);
    }
    // Purged with the hold: nothing of it is left.
    expect(await redis.exists(k.bySeat, k.expiry, k.perUser, k.takenUntil)).toBe(0);
  });

  it('reads a hold taken by an earlier version (no takenUntil) as taken with its current expiry; its value keeps that version\'s three fields', async () => {
    const k = schedule();
    // The hold outlives the test; the keep, twice as long, still moves its expiry.
    const [, , expiresAt] = await run(HOLD_SEAT, k, 1, 1, 'h', 60_000, 10);
    expect(await redis.hget(k.bySeat, '1')).toBe(`h|1|${expiresAt}`);
    expect(await redis.hget(k.takenUntil, '1')).toBe(expiresAt);
    await redis.hdel(k.takenUntil, '1');
    await run(HOLD_EXTEND, k, 1, 120_000, 1, 'h');
    const [, , extended] = (await redis.hget(k.bySeat, '1'))!.split('|');
    expect(Number(extended)).toBeLessThanOrEqual(Number(expiresAt) + 120_000);
    expect(Number(extended)).toBeGreaterThan(Number(expiresAt));
    // Released by the payment that kept it: its takenUntil and its payment mark go with it.
    expect(await run(HOLD_RELEASE, k, 1, 'h', 1, 1, 0)).toEqual([1, []]);
    expect(await redis.exists(k.bySeat, k.expiry, k.perUser, k.takenUntil, k.paying)).toBe(0);

    // An earlier version purged a hold without its takenUntil, then took the seat again: the stale
    // entry (far below the new hold's expiry) is not this hold's, and the hold is kept as usual.
    const [, , again] = await run(HOLD_SEAT, k, 1, 1, 'h2', 5_000, 10);
    await redis.hset(k.takenUntil, '1', Number(again) - 60_000);
    const before = await redisNow();
    await run(HOLD_EXTEND, k, 1, 10_000, 1, 'h2');
    expect(Number((await redis.hget(k.bySeat, '1'))!.split('|')[2])).toBeGreaterThanOrEqual(before + 10_000);
  });
});

describe('queue scripts', () => {
  const TTL = 60_000;
  const WINDOW = 60_000;
  const HOUR = 3_600_000;
  type Queue = ReturnType<typeof keys.queue>;
  /** A concert whose sales are open. */
  const concert = () => {
    const k = keys.queue(nextId++);
    void redis.set(k.sales, 'open');
    return k;
  };
  const enter = (k: Queue, user: number, preScore = drawPreQueueScore(), capacity = 3) => run(QUEUE_ENTER, k, user, preScore, capacity, keys.channels.queueTicks, 0);
  /** Stats soldOut and closedAt as a tick reads them before its inventory, "soldOut|closedAt". */
  const closingNow = async (k: Queue) => (await redis.hmget(k.stats, 'soldOut', 'closedAt')).map((value) => value ?? '').join('|');
  /** A tick; `reopensSeen` and `closingSeen` are stats reopens and closingNow as the caller read them before its inventory (now, unless given). */
  const admit = async (k: Queue, capacity: number, activeTtlMs = TTL, maxBatch = 5000, rateWindowMs = WINDOW, graceMs = HOUR, idleMs = HOUR, seatsLeft = -1, soldOut: 0 | 1 = 0, deadAfterMs = HOUR, reopensSeen?: string, closingSeen?: string) =>
    // Without the count of followed fans (the reply's last item), which the presence tests check.
    (
      await run(
        QUEUE_ADMIT,
        k,
        capacity,
        activeTtlMs,
        maxBatch,
        rateWindowMs,
        graceMs,
        idleMs,
        seatsLeft,
        soldOut,
        60_000,
        deadAfterMs,
        reopensSeen ?? (await redis.hget(k.stats, 'reopens')) ?? '',
        HOUR,
        closingSeen ?? (await closingNow(k)),
      )
    ).slice(0, 10);
  /** A tick with the inventory's word: seatsLeft (-1 unknown) and whether the concert is sold out. */
  const admitWithSeats = (k: Queue, capacity: number, seatsLeft: number, soldOut: 0 | 1 = 0) => admit(k, capacity, TTL, 5000, WINDOW, HOUR, HOUR, seatsLeft, soldOut);
  /** The per-user part of a status reply, as [state, value] pairs. */
  const places = (reply: number[]) => {
    const out: [number, number][] = [];
    for (let i = 7; i < reply.length; i += 2) out.push([reply[i]!, reply[i + 1]!]);
    return out;
  };
  const [NONE, WAITING, ACTIVE, PREQUEUE, SOLD_OUT] = [0, 1, 2, 3, 4];

  it('status before any tick: no one, no rate, no capacity, sales open', async () => {
    const k = concert();
    expect(await run(QUEUE_STATUS, k, 1)).toEqual([0, 0, -1, -1, -1, -1, 0, 0, 0]);
    expect(await run(QUEUE_STATUS, k)).toEqual([0, 0, -1, -1, -1, -1, 0]);
  });

  it('enter is idempotent; several users get distinct, increasing places; the first stores the capacity', async () => {
    const k = concert();
    expect(await enter(k, 10)).toEqual([1, 0, -1, 3, -1, -1, 0, 1, 1]);
    const ticket = await redis.zscore(k.wait, '10');
    expect(await enter(k, 10, -5, 9)).toEqual([1, 0, -1, 3, -1, -1, 0, 1, 1]);
    expect(await redis.zscore(k.wait, '10')).toBe(ticket);

    const replies = await Promise.all([11, 12, 13].map((user) => enter(k, user)));
    expect(replies.map((reply) => places(reply)[0])).toEqual([
      [1, 2],
      [1, 3],
      [1, 4],
    ]);
    expect(replies[2]![0]).toBe(4);
    const tickets = await Promise.all([10, 11, 12, 13].map(async (user) => Number(await redis.zscore(k.wait, String(user)))));
    expect([...tickets].sort((a, b) => a - b)).toEqual(tickets);
    expect(new Set(tickets).size).toBe(4);
    expect(tickets.every((t) => t > 0)).toBe(true);
    // Re-entering keeps the place even behind others.
    expect(places(await enter(k, 11))).toEqual([[1, 2]]);
  });

  it('enter says whether anyone else was in line or ACTIVE as the entrant came (only then is the concert surely in the tick’s index)', async () => {
    const k = concert();
    const othersThere = async (user: number) => (await runScript(redis, QUEUE_ENTER, k, user, drawPreQueueScore(), 3, keys.channels.queueTicks, 0)).at(-1);
    called.add(QUEUE_ENTER.name);
    expect(await othersThere(1)).toBe(0);
    // Alone in line, entering again: nobody else.
    expect(await othersThere(1)).toBe(0);
    expect(await othersThere(2)).toBe(1);
    // Fan 1 ACTIVE, fan 2 gone: fan 2 coming back finds fan 1's slot; fan 1 alone finds nobody else.
    await redis.zrem(k.wait, '1', '2');
    await redis.zadd(k.active, (await redisNow()) + 60_000, '1');
    expect(await othersThere(1)).toBe(0);
    expect(await othersThere(2)).toBe(1);
  });

  it('enter answers SALES_UNKNOWN and changes nothing while this Redis does not know the opening', async () => {
    const k = keys.queue(nextId++);
    expect(await enter(k, 1)).toEqual([SALES_UNKNOWN]);
    expect(await redis.exists(k.wait, k.seen, k.stats, k.seq)).toBe(0);
  });

  it('reports NONE, WAITING with its position and ACTIVE with activeUntil for several users at once', async () => {
    const k = concert();
    await enter(k, 1);
    await enter(k, 2);
    await enter(k, 3);
    const before = await redisNow();
    await admit(k, 1);
    const after = await redisNow();
    const reply = await run(QUEUE_STATUS, k, 3, 1, 99, 2);
    expect(reply.slice(0, 5)).toEqual([2, 1, -1, 1, -1]);
    const [three, one, none, two] = places(reply);
    expect(three).toEqual([1, 2]);
    expect(one![0]).toBe(2);
    expect(one![1]).toBeGreaterThanOrEqual(before + TTL);
    expect(one![1]).toBeLessThanOrEqual(after + TTL);
    expect(none).toEqual([0, 0]);
    expect(two).toEqual([1, 1]);
    // Entering again while ACTIVE keeps the slot.
    expect(places(await enter(k, 1))).toEqual([one]);
  });

  it('leave when not in line is no error and answers the figures only', async () => {
    const k = concert();
    expect(await run(QUEUE_LEAVE, k, 5, keys.channels.queueTicks, 0)).toEqual([0, 0, -1, -1, -1, -1, 0]);
    await enter(k, 6);
    expect(await run(QUEUE_LEAVE, k, 5, keys.channels.queueTicks, 0)).toEqual([1, 0, -1, 3, -1, -1, 0]);
    expect(places(await run(QUEUE_STATUS, k, 5))).toEqual([[0, 0]]);
  });

  it('leave frees the place (those behind move up) or the ACTIVE slot, and forgets the presence', async () => {
    const k = concert();
    for (const user of [1, 2, 3, 4]) await enter(k, user);
    await admit(k, 1);
    expect(await run(QUEUE_LEAVE, k, 3, keys.channels.queueTicks, 0)).toEqual([2, 1, -1, 1, -1, -1, 0]);
    expect(places(await run(QUEUE_STATUS, k, 2, 3, 4))).toEqual([
      [1, 1],
      [0, 0],
      [1, 2],
    ]);
    expect(await redis.zscore(k.seen, '3')).toBeNull();
    expect(await run(QUEUE_LEAVE, k, 1, keys.channels.queueTicks, 0)).toEqual([2, 0, -1, 1, -1, -1, 0]);
    expect(await redis.zscore(k.activeSeen, '1')).toBeNull();
    expect(places(await run(QUEUE_STATUS, k, 1))).toEqual([[0, 0]]);
    // The freed slot goes to the next in line.
    expect((await admit(k, 1))[0]).toBe(1);
    expect(places(await run(QUEUE_STATUS, k, 2, 4))[0]![0]).toBe(2);
  });

  it('admits nobody with capacity 0', async () => {
    const k = concert();
    await enter(k, 1);
    await enter(k, 2);
    expect(await admit(k, 0)).toEqual([0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    expect(await redis.zcard(k.active)).toBe(0);
    expect(await redis.hget(k.stats, 'cap')).toBe('0');
  });

  it('admits nobody with the line empty, and records the capacity', async () => {
    const k = concert();
    expect(await admit(k, 5)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(await redis.zcard(k.active)).toBe(0);
    expect(await run(QUEUE_STATUS, k)).toEqual([0, 0, -1, 5, -1, -1, 0]);
  });

  it('admits in FIFO order up to capacity, at most maxBatch per tick', async () => {
    const k = concert();
    for (const user of [5, 3, 9, 1, 7]) await enter(k, user);
    expect(await admit(k, 3, TTL, 2)).toEqual([2, 0, 3, 2, 0, 0, 0, 0, 0, 0]);
    expect((await redis.zrange(k.active, 0, -1)).sort()).toEqual(['3', '5']);
    expect(await admit(k, 3, TTL, 2)).toEqual([1, 0, 2, 3, 0, 0, 0, 0, 0, 0]);
    expect(await redis.zscore(k.active, '9')).not.toBeNull();
    // Full: nobody more until a slot frees.
    expect(await admit(k, 3, TTL, 2)).toEqual([0, 0, 2, 3, 0, 0, 0, 0, 0, 0]);
    expect(places(await run(QUEUE_STATUS, k, 1, 7))).toEqual([
      [1, 1],
      [1, 2],
    ]);
  });

  it('expires ACTIVE users after activeTtlMs; a lapsed user who enters again goes to the back', async () => {
    const k = concert();
    for (const user of [1, 2, 3]) await enter(k, user);
    expect(await admit(k, 2, 50)).toEqual([2, 0, 1, 2, 0, 0, 0, 0, 0, 0]);
    await sleep(100);
    // Lapsed on Redis's clock before any tick removes them.
    expect(await run(QUEUE_STATUS, k, 1, 2)).toEqual([1, 0, -1, 2, -1, -1, 0, 0, 0, 0, 0]);
    expect(await enter(k, 1)).toEqual([2, 0, -1, 2, -1, -1, 0, 1, 2]);
    expect(await redis.zscore(k.active, '1')).toBeNull();
    // The tick drops the other lapsed slot and admits the line in order (slots that last: the status
    // read after it must find them live however slow the machine).
    expect(await admit(k, 2)).toEqual([2, 1, 0, 2, 0, 0, 0, 0, 0, 0]);
    expect(places(await run(QUEUE_STATUS, k, 3, 1, 2)).map(([state]) => state)).toEqual([2, 2, 0]);
  });

  it('reads no pace from a batch followed by quiet ticks (an opening), so estimated waits fall back to the slowest pace', async () => {
    const k = concert();
    for (const user of [1, 2, 3, 4, 5]) await enter(k, user);
    expect((await admit(k, 3))[0]).toBe(3);
    await sleep(50);
    expect((await admit(k, 3))[0]).toBe(0);
    // Counting the batch would read 3 in 50 ms: 3,600 a minute.
    expect(await redis.hget(k.stats, 'rate')).toBe('0');
  });

  it('reads no pace from ticks of an empty line: the first entrant admitted just after one is no pace of hundreds a minute', async () => {
    const k = concert();
    await admit(k, 1);
    await sleep(20);
    for (const user of [1, 2]) await enter(k, user);
    expect((await admit(k, 1))[0]).toBe(1);
    await sleep(50);
    expect((await admit(k, 1))[0]).toBe(0);
    expect(await redis.hget(k.stats, 'rate')).toBe('0');
    // The empty line's tick recorded nothing: the two entries are the ticks that had someone to admit.
    expect(await redis.llen(k.admissions)).toBe(2);
  });

  it('measures the admission rate over the window: none after one tick, then per minute; old ticks trimmed', async () => {
    const k = concert();
    for (const user of [1, 2, 3]) await enter(k, user);
    await admit(k, 2);
    expect(await redis.hget(k.stats, 'rate')).toBe('-1');
    expect((await run(QUEUE_STATUS, k)).slice(2)).toEqual([-1, 2, -1, -1, 0]);

    const first = Number((await redis.lindex(k.admissions, -1))!.split(':')[0]);
    await sleep(50);
    await admit(k, 3);
    const last = Number((await redis.lindex(k.admissions, 0))!.split(':')[0]);
    // The first tick's two admissions opened the span: one admission within it.
    const rate = Math.floor((1 * 60000) / (last - first));
    expect(rate).toBeGreaterThan(0);
    expect((await run(QUEUE_STATUS, k)).slice(2)).toEqual([rate, 3, -1, -1, 0]);
    expect(await redis.lrange(k.admissions, 0, -1)).toEqual([`${last}:1`, `${first}:2`]);

    // With a window shorter than the gap, the older ticks are trimmed: one tick left, no rate again.
    await sleep(60);
    await enter(k, 4);
    await admit(k, 3, TTL, 5000, 30);
    expect(await redis.llen(k.admissions)).toBe(1);
    expect(await redis.lindex(k.admissions, 0)).toMatch(/^\d+:0$/);
    expect((await run(QUEUE_STATUS, k)).slice(2)).toEqual([-1, 3, -1, -1, 0]);
  });

  describe('inventory', () => {
    it('admits up to capacity while any seat is left, pauses while none is, and goes on when the count is unknown (-1)', async () => {
      // Two seats left, a capacity of five: all four waiting are let in (the contract's rule), to race for them.
      const few = concert();
      for (const user of [1, 2, 3, 4]) await enter(few, user);
      expect((await admitWithSeats(few, 5, 2)).slice(0, 4)).toEqual([4, 0, 0, 4]);
      const k = concert();
      for (const user of [1, 2, 3]) await enter(k, user);
      expect(await admitWithSeats(k, 5, 0)).toEqual([0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
      // The tick's count is what status replies show (figures 6 and 7: seatsLeft, soldOut), until it is older than its ttl.
      expect((await run(QUEUE_STATUS, k)).slice(5)).toEqual([0, 0]);
      expect(await admitWithSeats(k, 1, 2)).toEqual([1, 0, 2, 1, 0, 0, 0, 0, 0, 0]);
      expect((await run(QUEUE_STATUS, k)).slice(5)).toEqual([2, 0]);
      expect(await admitWithSeats(k, 2, -1)).toEqual([1, 0, 1, 2, 0, 0, 0, 0, 0, 0]);
      expect((await run(QUEUE_STATUS, k)).slice(5)).toEqual([-1, 0]);
      // Written outside a tick (a request that found it unknown), for ttlMs.
      expect(await run(QUEUE_SEATS_LEFT, k, 7, 1000)).toBe(0);
      expect((await run(QUEUE_STATUS, k)).slice(5)).toEqual([7, 0]);
      await sleep(1100);
      expect((await run(QUEUE_STATUS, k)).slice(5)).toEqual([-1, 0]);
    });

    it('sold out: the line empties and closes, ACTIVE fans stay, enter answers SOLD_OUT; reopen or a tick with seats opens it', async () => {
      const k = concert();
      for (const user of [1, 2, 3]) await enter(k, user);
      await admit(k, 1);
      // Everyone waiting leaves (2 of them) with their presence; the transition is reported once.
      expect(await admitWithSeats(k, 1, 0, 1)).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 2, 1]);
      expect(await redis.exists(k.wait, k.seen)).toBe(0);
      expect(await admitWithSeats(k, 1, 0, 1)).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
      const reply = await run(QUEUE_STATUS, k, 1, 2, 9);
      expect([reply[0], reply[1], reply[5], reply[6]]).toEqual([0, 1, 0, 1]);
      expect(places(reply).map(([state]) => state)).toEqual([ACTIVE, SOLD_OUT, SOLD_OUT]);
      // Nobody joins a closed line; an ACTIVE fan entering again keeps the slot.
      expect(places(await enter(k, 4))).toEqual([[SOLD_OUT, 0]]);
      expect(await redis.zcard(k.wait)).toBe(0);
      expect(places(await enter(k, 1))[0]![0]).toBe(ACTIVE);

      expect(await run(QUEUE_REOPEN, k)).toBe(0);
      expect((await run(QUEUE_STATUS, k, 4)).slice(5)).toEqual([-1, 0, NONE, 0]);
      expect(places(await enter(k, 4))).toEqual([[WAITING, 1]]);
      // A tick whose sold-out verdict was formed before that reopening (it read reopens before) keeps the line open.
      await admit(k, 1, TTL, 5000, WINDOW, HOUR, HOUR, 0, 1, HOUR, '');
      expect(places(await run(QUEUE_STATUS, k, 4))).toEqual([[WAITING, 1]]);
      // Its seat count (0) came from the same stale read: unknown, as the reopening left it, not 0.
      expect((await run(QUEUE_STATUS, k)).slice(5, 7)).toEqual([-1, 0]);
      // So is the count of a tick that read it before the reopening but whose verdict was not sold out
      // (MySQL, asked after the cancellation's commit, no longer agreed): not 0 with the line open.
      await admit(k, 1, TTL, 5000, WINDOW, HOUR, HOUR, 0, 0, HOUR, '');
      expect((await run(QUEUE_STATUS, k)).slice(5, 7)).toEqual([-1, 0]);
      // Closed again by a tick, then opened by a tick that finds seats.
      await admitWithSeats(k, 1, 0, 1);
      expect(places(await run(QUEUE_STATUS, k, 4))).toEqual([[SOLD_OUT, 0]]);
      await admitWithSeats(k, 1, 1, 0);
      expect(places(await run(QUEUE_STATUS, k, 4))).toEqual([[NONE, 0]]);
    });

    it('a last sale closes the door: newcomers are answered SOLD_OUT at once, those in line stay for the tick, a reopening since wins', async () => {
      const k = concert();
      for (const user of [1, 2]) await enter(k, user);
      await admit(k, 1);
      const closingSeen = await closingNow(k);
      expect(await run(QUEUE_CLOSE_SOLD_OUT, k, '', HOUR)).toBe(CLOSE_CLOSED_NOW);
      // Closed once: a second call (a retried payment's follow-up) reports nothing new.
      expect(await run(QUEUE_CLOSE_SOLD_OUT, k, '', HOUR)).toBe(CLOSE_ALREADY_CLOSED);
      expect(places(await enter(k, 3))).toEqual([[SOLD_OUT, 0]]);
      const reply = await run(QUEUE_STATUS, k, 1, 2);
      // seatsLeft 0, soldOut 1; the ACTIVE fan keeps the slot, the waiting one waits for the tick that empties the line.
      expect(reply.slice(5, 7)).toEqual([0, 1]);
      expect(places(reply)).toEqual([
        [ACTIVE, expect.any(Number)],
        [WAITING, 1],
      ]);
      // A tick that read the line open, and seats left, before that payment: its verdict is stale, the line stays closed (and admits nobody).
      expect(await admit(k, 5, TTL, 5000, WINDOW, HOUR, HOUR, 1, 0, HOUR, undefined, closingSeen)).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
      expect(places(await enter(k, 3))).toEqual([[SOLD_OUT, 0]]);
      expect((await run(QUEUE_STATUS, k)).slice(5, 7)).toEqual([0, 1]);
      // The next tick, sold out on MySQL's word, empties the line and does not count the close again.
      expect((await admitWithSeats(k, 1, 0, 1))[9]).toBe(0);
      expect(await redis.zcard(k.wait)).toBe(0);
      // A tick reads the line closed; a cancellation reopens it and a new last sale closes it again
      // before the tick's script runs: its verdict is stale twice over, and the new close stands.
      const readClosed = [(await redis.hget(k.stats, 'reopens')) ?? '', await closingNow(k)] as const;
      await run(QUEUE_REOPEN, k);
      expect(await run(QUEUE_CLOSE_SOLD_OUT, k, (await redis.hget(k.stats, 'reopens')) ?? '', HOUR)).toBe(1);
      await admit(k, 5, TTL, 5000, WINDOW, HOUR, HOUR, 0, 1, HOUR, ...readClosed);
      expect(places(await enter(k, 5))).toEqual([[SOLD_OUT, 0]]);
      // A tick reads the line open; another tick closes it (sold out on MySQL's word) before the first
      // one's script runs with its stale verdict: the line stays closed, counted closed once.
      await run(QUEUE_REOPEN, k);
      const readOpen = [(await redis.hget(k.stats, 'reopens')) ?? '', await closingNow(k)] as const;
      expect((await admitWithSeats(k, 1, 0, 1))[9]).toBe(1);
      expect(await run(QUEUE_CLOSE_SOLD_OUT, k, (await redis.hget(k.stats, 'reopens')) ?? '', HOUR)).toBe(CLOSE_ALREADY_CLOSED);
      expect((await admit(k, 5, TTL, 5000, WINDOW, HOUR, HOUR, 1, 0, HOUR, ...readOpen))[9]).toBe(0);
      expect(places(await enter(k, 6))).toEqual([[SOLD_OUT, 0]]);
      // A tick reads the line closed; a cancellation reopens it, the stats are lost, and the returned
      // seat's sale closes the line again before the tick's script runs: a close since all the same.
      const readBeforeLoss = await closingNow(k);
      await run(QUEUE_REOPEN, k);
      await redis.del(k.stats);
      expect(await run(QUEUE_CLOSE_SOLD_OUT, k, '', HOUR)).toBe(1);
      expect((await admit(k, 5, TTL, 5000, WINDOW, HOUR, HOUR, 1, 0, HOUR, '', readBeforeLoss))[9]).toBe(0);
      expect(places(await enter(k, 7))).toEqual([[SOLD_OUT, 0]]);
      // A verdict formed before a cancellation reopened the line is stale: the door stays open.
      const reopensSeen = (await redis.hget(k.stats, 'reopens')) ?? '';
      await run(QUEUE_REOPEN, k);
      expect(await run(QUEUE_CLOSE_SOLD_OUT, k, reopensSeen, HOUR)).toBe(CLOSE_REOPENED);
      expect(places(await enter(k, 3))).toEqual([[WAITING, 1]]);
    });

    it('sold out before sales open: PREQUEUE fans leave with their presence, nobody joins the pre-queue, the opening still happens once', async () => {
      const k = keys.queue(nextId++);
      const opensAt = (await redisNow()) + HOUR;
      await redis.set(k.sales, String(opensAt));
      await enter(k, 1, -500);
      await enter(k, 2, -900);
      expect(await redis.zcard(k.seen)).toBe(2);
      expect(await admitWithSeats(k, 5, 0, 1)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 2, 1]);
      expect(await redis.exists(k.wait, k.seen)).toBe(0);
      const reply = await run(QUEUE_STATUS, k, 1, 2);
      // salesOpensAt, seatsLeft, soldOut
      expect(reply.slice(4, 7)).toEqual([opensAt, 0, 1]);
      expect(places(reply)).toEqual([
        [SOLD_OUT, 0],
        [SOLD_OUT, 0],
      ]);
      expect(places(await enter(k, 3, -5))).toEqual([[SOLD_OUT, 0]]);
      expect(await redis.zcard(k.wait)).toBe(0);
      // The time comes (set, not waited for: on a loaded machine a short wait ran out before the checks above).
      await redis.set(k.sales, String((await redisNow()) - 1));
      // Due: the tick opens sales (once) while the line stays closed.
      expect(await admitWithSeats(k, 5, 0, 1)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
      expect(await redis.get(k.sales)).toBe('open');
      // Seats came back (a cancellation): the next fan queues with a ticket, behind nobody.
      await run(QUEUE_REOPEN, k);
      expect(places(await enter(k, 3))).toEqual([[WAITING, 1]]);
    });
  });

  describe('sales opening', () => {
    /** A concert whose sales open `inMs` from now on Redis's clock. */
    const closedConcert = async (inMs = HOUR) => {
      const k = keys.queue(nextId++);
      const opensAt = (await redisNow()) + inMs;
      await redis.set(k.sales, String(opensAt));
      return { k, opensAt };
    };

    it('puts fans who enter before opening in PREQUEUE with the opening time, at their drawn score; admits nobody', async () => {
      const { k, opensAt } = await closedConcert();
      expect(await enter(k, 1, -500)).toEqual([1, 0, -1, 3, opensAt, -1, 0, PREQUEUE, 0]);
      expect(await enter(k, 2, -900)).toEqual([2, 0, -1, 3, opensAt, -1, 0, PREQUEUE, 0]);
      // Idempotent: the drawn place is kept.
      await enter(k, 1, -10_000);
      expect(await redis.zscore(k.wait, '1')).toBe('-500');
      expect(await admit(k, 5)).toEqual([0, 0, 2, 0, 0, 0, 0, 1, 0, 0]);
      expect(await redis.get(k.sales)).toBe(String(opensAt));
      expect(places(await run(QUEUE_STATUS, k, 1, 2))).toEqual([
        [PREQUEUE, 0],
        [PREQUEUE, 0],
      ]);
    });

    it('gives each pre-queue fan a place of their own: a drawn score another fan has is moved to the next free one', async () => {
      const { k } = await closedConcert();
      // A tie would order the two by name ("10" before "2"), which live positions cannot follow.
      for (const user of [2, 10, 11]) await enter(k, user, -5);
      await enter(k, 12, -4);
      expect(await redis.zrange(k.wait, 0, -1, 'WITHSCORES')).toEqual(['2', '-5', '10', '-4', '11', '-3', '12', '-2']);
    });

    it('opens once at the first tick at or after the time: the pre-queue in score order, ahead of every later arrival', async () => {
      const { k } = await closedConcert();
      await enter(k, 1, -5);
      await enter(k, 2, -50);
      await enter(k, 3, -7);
      // The time comes (set, not waited for: on a loaded machine a short wait let the third entry open sales).
      await redis.set(k.sales, String((await redisNow()) - 1));
      const [first, second] = await Promise.all([admit(k, 1), admit(k, 1)]);
      expect([first![6], second![6]].sort()).toEqual([0, 1]);
      expect(first![7]).toBe(0);
      expect(await redis.get(k.sales)).toBe('open');
      expect(await redis.zscore(k.active, '2')).not.toBeNull();
      await enter(k, 4);
      // The rate (third figure) depends on how far apart the two ticks ran: not this test's business.
      expect(await enter(k, 5)).toEqual([4, 1, expect.any(Number), 1, -1, -1, 0, WAITING, 4]);
      expect(places(await run(QUEUE_STATUS, k, 3, 1, 4, 5))).toEqual([
        [WAITING, 1],
        [WAITING, 2],
        [WAITING, 3],
        [WAITING, 4],
      ]);
    });

    it('opens at an entry that comes after the time but before any tick: the entrant takes a ticket behind the pre-queue', async () => {
      const { k } = await closedConcert();
      await enter(k, 1, -5);
      await enter(k, 2, -50);
      // The time comes (set, not waited for: on a loaded machine a short wait let the second entry open sales).
      await redis.set(k.sales, String((await redisNow()) - 1));
      called.add(QUEUE_ENTER.name);
      const reply = await runScript(redis, QUEUE_ENTER, k, 3, -1_000_000, 3, keys.channels.queueTicks, 0);
      // Opened by this call (the third item from the end), logged once, the entrant WAITING third: not drawn into the pre-queue.
      expect(reply.at(-3)).toBe(1);
      expect(reply.slice(-5, -3)).toEqual([WAITING, 3]);
      expect(await redis.get(k.sales)).toBe('open');
      expect(await redis.xlen(k.departures)).toBe(1);
      expect(places(await run(QUEUE_STATUS, k, 2, 1, 3))).toEqual([
        [WAITING, 1],
        [WAITING, 2],
        [WAITING, 3],
      ]);
      // Nothing left for a tick to open; a later entry opens nothing either.
      expect((await admit(k, 0))[6]).toBe(0);
      expect((await runScript(redis, QUEUE_ENTER, k, 4, -1, 3, keys.channels.queueTicks, 0)).at(-3)).toBe(0);
    });

    it('places a small pre-queue in a uniformly random order (chi-square over many draws)', async () => {
      const FANS = 4;
      const ROUNDS = 2400;
      // counts[fan][place]
      const counts = Array.from({ length: FANS }, () => new Array<number>(FANS).fill(0));
      // Each round on its own concert, many at once: one after another, the round trips took over a
      // minute on a loaded machine.
      const round = async () => {
        const k = keys.queue(nextId++);
        await Promise.all([redis.set(k.sales, '1'), ...Array.from({ length: FANS }, (_, fan) => redis.zadd(k.wait, drawPreQueueScore(), String(fan + 1)))]);
        const reply = await run(QUEUE_STATUS, k, 1, 2, 3, 4);
        expect(places(reply).every(([state]) => state === PREQUEUE)).toBe(true);
        await admit(k, 0);
        const positions = places(await run(QUEUE_STATUS, k, 1, 2, 3, 4)).map(([state, position]) => {
          expect(state).toBe(WAITING);
          return position;
        });
        expect([...positions].sort()).toEqual([1, 2, 3, 4]);
        positions.forEach((position, fan) => counts[fan]![position - 1]!++);
      };
      const AT_ONCE = 40;
      for (let started = 0; started < ROUNDS; started += AT_ONCE) await Promise.all(Array.from({ length: AT_ONCE }, round));
      const expected = ROUNDS / FANS;
      // Each round adds a whole permutation, so a cell varies as ROUNDS·(1/4)(3/4), more than in a
      // table of independent draws: Pearson's sum, scaled by (FANS−1)/FANS, follows χ² with
      // (FANS−1)² = 9 degrees of freedom (unscaled, the old bound of 33.7 failed a fair draw 1 run in 400).
      const chiSquare = ((FANS - 1) / FANS) * counts.flat().reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
      // P(χ²₉ > 44.7) ≈ 1e-6 for a fair draw (mean 9); one that puts the first arrival first a third
      // of the time instead of a quarter lands near 89.
      expect(chiSquare).toBeLessThan(44.7);
    });

    it('draws pre-queue scores as negative integers spread over 53 bits', () => {
      const scores = Array.from({ length: 2000 }, drawPreQueueScore);
      expect(scores.every((score) => Number.isSafeInteger(score) && score <= -1 && score >= -(2 ** 53))).toBe(true);
      expect(new Set(scores).size).toBe(scores.length);
      // Half of them fall below -2^52, give or take noise.
      const low = scores.filter((score) => score < -(2 ** 52)).length;
      expect(low).toBeGreaterThan(850);
      expect(low).toBeLessThan(1150);
    });

    it('SALES_SET moves the opening while closed, opens at once for a negative time, and refuses once due or open', async () => {
      const { k } = await closedConcert();
      const later = (await redisNow()) + 2 * HOUR;
      expect(await run(SALES_SET, k, 'open', later)).toBe(1);
      expect(await redis.get(k.sales)).toBe(String(later));
      const before = await redisNow();
      expect(await run(SALES_SET, k, 'open', -1)).toBe(1);
      const now = Number(await redis.get(k.sales));
      expect(now).toBeGreaterThanOrEqual(before);
      // Due (not yet opened by a tick): refused, unchanged.
      expect(await run(SALES_SET, k, 'open', later)).toBe(0);
      expect(await redis.get(k.sales)).toBe(String(now));
      await redis.set(k.sales, 'open');
      expect(await run(SALES_SET, k, String(later), later)).toBe(0);
      expect(await redis.get(k.sales)).toBe('open');
    });

    it('SALES_RESTORE puts a time back, even one already due, unless a tick has opened sales', async () => {
      const { k } = await closedConcert();
      const later = (await redisNow()) + 2 * HOUR;
      // A due time that no tick has acted on yet (what a failed setSalesOpenAt to "now" leaves) is taken back.
      await redis.set(k.sales, String((await redisNow()) - 1000));
      expect(await run(SALES_RESTORE, k, later)).toBe(1);
      expect(await redis.get(k.sales)).toBe(String(later));
      const before = await redisNow();
      expect(await run(SALES_RESTORE, k, -1)).toBe(1);
      expect(Number(await redis.get(k.sales))).toBeGreaterThanOrEqual(before);
      await redis.set(k.sales, 'open');
      expect(await run(SALES_RESTORE, k, later)).toBe(0);
      expect(await redis.get(k.sales)).toBe('open');
    });

    it('SALES_SET judges by MySQL’s value when this Redis has none', async () => {
      const k = keys.queue(nextId++);
      const future = (await redisNow()) + HOUR;
      expect(await run(SALES_SET, k, 'open', future)).toBe(0);
      expect(await redis.exists(k.sales)).toBe(0);
      expect(await run(SALES_SET, k, String(future), future + 1000)).toBe(1);
      expect(await redis.get(k.sales)).toBe(String(future + 1000));
    });
  });

  describe('presence', () => {
    const age = async (key: string, user: number, msAgo: number) => redis.zadd(key, (await redisNow()) - msAgo, String(user));

    it('every status, enter or tick admission marks the fans it finds in line as seen now; NONE fans are not', async () => {
      const k = concert();
      const t0 = await redisNow();
      await enter(k, 1);
      await enter(k, 2);
      expect(Number(await redis.zscore(k.seen, '1'))).toBeGreaterThanOrEqual(t0);
      await age(k.seen, 1, 10_000);
      await run(QUEUE_STATUS, k, 1, 99);
      expect(Number(await redis.zscore(k.seen, '1'))).toBeGreaterThanOrEqual(t0);
      expect(await redis.zscore(k.seen, '99')).toBeNull();
      // Admitted: the presence moves to the ACTIVE set, starting the idle clock now. The old entry in
      // seen is left to lapse; when it does, the sweep forgets it without dropping anyone.
      await admit(k, 1);
      expect(Number(await redis.zscore(k.activeSeen, '1'))).toBeGreaterThanOrEqual(t0);
      await age(k.seen, 1, 10_000);
      expect((await admit(k, 1, TTL, 5000, WINDOW, 5000)).slice(4, 6)).toEqual([0, 0]);
      expect(await redis.zscore(k.seen, '1')).toBeNull();
      expect(places(await run(QUEUE_STATUS, k, 1, 2))).toEqual([
        [ACTIVE, expect.any(Number)],
        [WAITING, 1],
      ]);
      await age(k.activeSeen, 1, 10_000);
      await run(QUEUE_STATUS, k, 1);
      expect(Number(await redis.zscore(k.activeSeen, '1'))).toBeGreaterThanOrEqual(t0);
    });

    it('admits nobody while more waiters are absent than one tick drops: an absent fan at the front would take a present one’s slot', async () => {
      const k = concert();
      for (const user of [1, 2, 3, 4]) await enter(k, user);
      // 1, 2 and 3 unseen for longer than the grace, 1 the longest; a batch of 2 drops 1 and 2.
      for (const [user, msAgo] of [[1, 9000], [2, 8000], [3, 7000]] as const) await age(k.seen, user, msAgo);
      expect((await admit(k, 1, TTL, 2, WINDOW, 5000)).slice(0, 5)).toEqual([0, 0, 2, 0, 2]);
      expect(await redis.zrange(k.wait, 0, -1)).toEqual(['3', '4']);
      // The next tick drops 3, then admits 4, the first fan present.
      expect((await admit(k, 1, TTL, 2, WINDOW, 5000)).slice(0, 5)).toEqual([1, 0, 0, 1, 1]);
      expect(await redis.zrange(k.active, 0, -1)).toEqual(['4']);
    });

    it('drops WAITING and PREQUEUE fans unseen for the grace; those behind move up', async () => {
      const k = concert();
      for (const user of [1, 2, 3, 4]) await enter(k, user);
      await age(k.seen, 2, 6000);
      await age(k.seen, 3, 4000);
      expect(await admit(k, 0, TTL, 5000, WINDOW, 5000)).toEqual([0, 0, 3, 0, 1, 0, 0, 0, 0, 0]);
      expect(places(await run(QUEUE_STATUS, k, 1, 2, 3, 4))).toEqual([
        [WAITING, 1],
        [NONE, 0],
        [WAITING, 2],
        [WAITING, 3],
      ]);
      expect(await redis.zscore(k.seen, '2')).toBeNull();

      const { k: pre } = await (async () => {
        const closed = keys.queue(nextId++);
        await redis.set(closed.sales, String((await redisNow()) + HOUR));
        return { k: closed };
      })();
      await enter(pre, 1);
      await enter(pre, 2);
      await age(pre.seen, 1, 6000);
      expect(await admit(pre, 5, TTL, 5000, WINDOW, 5000)).toEqual([0, 0, 1, 0, 1, 0, 0, 1, 0, 0]);
      expect(places(await run(QUEUE_STATUS, pre, 1, 2))).toEqual([
        [NONE, 0],
        [PREQUEUE, 0],
      ]);
    });

    it('drops ACTIVE fans idle for idleMs and gives the slot to the next in line at the same tick', async () => {
      const k = concert();
      for (const user of [1, 2, 3]) await enter(k, user);
      await admit(k, 1);
      await age(k.activeSeen, 1, 6000);
      // Within the waiting grace (an hour) but past the idle time.
      expect(await admit(k, 1, TTL, 5000, WINDOW, HOUR, 5000)).toEqual([1, 0, 1, 1, 0, 1, 0, 0, 0, 0]);
      expect(places(await run(QUEUE_STATUS, k, 1, 2, 3))).toEqual([
        [NONE, 0],
        [ACTIVE, expect.any(Number)],
        [WAITING, 1],
      ]);
    });

    it('a fan past the grace or the idle time is gone when anyone asks, not only at the next tick: their own call does not renew the place', async () => {
      const k = concert();
      for (const user of [1, 2, 3, 4]) await enter(k, user);
      // A tick stores its 5 s grace and idle time (and admits fan 1); nobody has lapsed yet.
      await admit(k, 1, TTL, 5000, WINDOW, 5000, 5000);
      const since = Number(await redis.hget(k.stats, 'logSeq'));
      await age(k.seen, 2, 6000);
      await age(k.activeSeen, 1, 6000);
      // Fan 2 asks: NONE, having just left the line (5); fan 3 is first now, in the same reply.
      expect(places(await run(QUEUE_STATUS, k, 2, 3))).toEqual([
        [5, 0],
        [WAITING, 1],
      ]);
      // Fan 1, idle past the idle time, loses the slot the same way (6); a second ask is plain NONE.
      expect(places(await run(QUEUE_STATUS, k, 1))).toEqual([[6, 0]]);
      expect(places(await run(QUEUE_STATUS, k, 1, 2))).toEqual([
        [NONE, 0],
        [NONE, 0],
      ]);
      expect(await redis.zcard(k.active)).toBe(0);
      // Both departures are logged, for the replicas following fans 3 and 4.
      const logged = (await redis.xrange(k.departures, `(${since}-0`, '+')).map(decodeDepartures);
      expect(logged.map((entry) => [[...entry.leftLine], entry.scores, [...entry.slotEnded]])).toEqual([
        [[2], [2], []],
        [[], [], [1]],
      ]);
      // Fan 4 lapses too and enters again: the entry drops the old place first (ENTER's last item, 1)
      // and gives a new one at the back, behind fan 3 and fan 2, who entered again before.
      expect(places(await enter(k, 2))).toEqual([[WAITING, 3]]);
      await age(k.seen, 4, 6000);
      const again = await runScript(redis, QUEUE_ENTER, k, 4, drawPreQueueScore(), 3, keys.channels.queueTicks, 0);
      expect(again.at(-2)).toBe(1);
      expect(again.slice(-5, -3)).toEqual([WAITING, 3]);
      expect(places(await run(QUEUE_STATUS, k, 3, 2, 4))).toEqual([
        [WAITING, 1],
        [WAITING, 2],
        [WAITING, 3],
      ]);
      // A subscribed fan (WATCHED) never lapses, however old their last other sign.
      await redis.zadd(k.seen, 2 ** 52, '3');
      expect(places(await run(QUEUE_STATUS, k, 3))).toEqual([[WAITING, 1]]);
    });

    it('drops at most maxBatch absent fans per tick, and forgets stale presence of fans no longer in line', async () => {
      const k = concert();
      for (const user of [1, 2, 3, 4, 5]) await enter(k, user);
      for (const user of [1, 2, 3, 4, 5]) await age(k.seen, user, 6000);
      expect((await admit(k, 0, TTL, 2, WINDOW, 5000))[4]).toBe(2);
      expect((await admit(k, 0, TTL, 2, WINDOW, 5000))[4]).toBe(2);
      expect((await admit(k, 0, TTL, 2, WINDOW, 5000)).slice(2, 5)).toEqual([0, 0, 1]);
      expect(await redis.exists(k.seen, k.activeSeen)).toBe(0);
      // A lapsed ACTIVE fan's presence is not a drop.
      await enter(k, 9);
      await admit(k, 1, 30);
      await sleep(60);
      await age(k.activeSeen, 9, 6000);
      expect((await admit(k, 1, 30, 5000, WINDOW, 5000, 5000)).slice(0, 6)).toEqual([0, 1, 0, 0, 0, 0]);
      expect(await redis.exists(k.activeSeen)).toBe(0);
    });

    it('drops the absent before it pauses, admits or closes the line, and counts them apart from fans a sell-out sends away', async () => {
      const k = concert();
      for (const user of [1, 2, 3]) await enter(k, user);
      await age(k.seen, 1, 6000);
      // No seat left: paused, but the absent fan is dropped all the same.
      expect(await admit(k, 1, TTL, 5000, WINDOW, 5000, HOUR, 0, 0)).toEqual([0, 0, 2, 0, 1, 0, 0, 0, 0, 0]);
      expect(await admit(k, 1, TTL, 5000, WINDOW, 5000, HOUR, 3, 0)).toEqual([1, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
      expect(places(await run(QUEUE_STATUS, k, 1, 3))).toEqual([
        [NONE, 0],
        [WAITING, 1],
      ]);
      await age(k.seen, 3, 6000);
      // Sold out: the absent fan counts as dropped, nobody present was left to send away.
      expect(await admit(k, 1, TTL, 5000, WINDOW, 5000, HOUR, 0, 1)).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0, 1]);
    });
  });
});

describe('departures log and live presence', () => {
  const HOUR = 3_600_000;
  type Queue = ReturnType<typeof keys.queue>;
  const concert = async () => {
    const k = keys.queue(nextId++);
    await redis.set(k.sales, 'open');
    return k;
  };
  const enter = (k: Queue, user: number) => run(QUEUE_ENTER, k, user, drawPreQueueScore(), 3, keys.channels.queueTicks, 0);
  const admit = (k: Queue, capacity: number, graceMs = HOUR, deadAfterMs = HOUR, activeTtlMs = 60_000) =>
    run(QUEUE_ADMIT, k, capacity, activeTtlMs, 5000, 60_000, graceMs, HOUR, -1, 0, 60_000, deadAfterMs, '', HOUR, '|');
  const watch = async (k: Queue, register: 0 | 1, replica: string, ...users: number[]) => decodeWatchReply(await run(QUEUE_WATCH, k, register, replica, HOUR, ...users));
  const feed = async (k: Queue, since: number) => {
    const { figures, entries } = decodeFeedReply(await run(QUEUE_FEED, k, since));
    return { figures, entries: entries?.map(decodeDepartures) ?? null };
  };
  const rankOf = async (k: Queue, user: number) => {
    const rank = await redis.zrank(k.wait, String(user));
    return rank === null ? null : rank + 1;
  };

  it('judges nobody absent for a silence that may be ours: a tick after a gap drops nobody for a grace, and no call forgets anyone while ticks are missing or within that grace', async () => {
    const k = await concert();
    // Grace and idle time 5 s; a gap of over 2 s between ticks means the line was left unattended.
    const tick = async () => (await run(QUEUE_ADMIT, k, 0, 60_000, 5000, 60_000, 5000, 5000, -1, 0, 60_000, HOUR, '', 2000, '|'))[4];
    /** Whether the fan is in line once they asked (a status call forgets the absent it finds). */
    const inLineAfterAsking = async (user: number) => {
      await run(QUEUE_STATUS, k, user);
      return (await redis.zscore(k.wait, String(user))) !== null;
    };
    for (const user of [1, 2, 3]) await enter(k, user);
    expect(await tick()).toBe(0);
    const unseenFor = async (user: number, ms: number) => redis.zadd(k.seen, (await redisNow()) - ms, String(user));
    const lastTickAgo = async (ms: number) => redis.hset(k.stats, 'tickAt', (await redisNow()) - ms);

    // Fan 1 silent for 10 s, fan 3 too: but no tick for 10 s either. Fan 3 asks, and keeps the place.
    await unseenFor(1, 10_000);
    await unseenFor(3, 10_000);
    await lastTickAgo(10_000);
    expect(await inLineAfterAsking(3)).toBe(true);
    // The tick that finds the gap drops nobody, nor the next ones within a grace of it; nor does a
    // call within that grace (fan 3, silent 10 s again, asks right after that tick).
    expect(await tick()).toBe(0);
    await unseenFor(3, 10_000);
    expect(await inLineAfterAsking(3)).toBe(true);
    expect(await tick()).toBe(0);
    expect(await redis.zscore(k.wait, '1')).not.toBeNull();
    // A grace after the line was attended again, absence is judged as ever: fan 1 goes, the others stay.
    await redis.hset(k.stats, 'resumedAt', (await redisNow()) - 6000);
    expect(await tick()).toBe(1);
    expect(await redis.zscore(k.wait, '1')).toBeNull();
    // And a call finds its own absence again, with the ticks running.
    await unseenFor(3, 10_000);
    expect(await inLineAfterAsking(3)).toBe(false);
    expect(await inLineAfterAsking(2)).toBe(true);
  });

  it('logs every departure with its score, so places read once plus the log give ZRANK + 1 after any churn', async () => {
    const k = await concert();
    const users = Array.from({ length: 30 }, (_, i) => i + 1);
    for (const user of users) await enter(k, user);
    const baseline = await watch(k, 0, 'r1', ...users);
    expect(baseline.figures.logSeq).toBe(0);
    const followed = new Map(users.map((user, i) => [user, baseline.places[i]!]));
    expect(followed.get(7)).toMatchObject({ state: 'WAITING', position: 7, score: Number(await redis.zscore(k.wait, '7')) });

    // Churn: admissions, leaves (from the front, the middle, an ACTIVE slot), absent fans dropped,
    // ACTIVE slots that end, and newcomers behind everyone.
    await admit(k, 3);
    await run(QUEUE_LEAVE, k, 10, keys.channels.queueTicks, 0);
    await run(QUEUE_LEAVE, k, 1, keys.channels.queueTicks, 0);
    await redis.zadd(k.seen, 0, '12', 0, '20');
    await admit(k, 3, 5000);
    await run(QUEUE_END_ACTIVE, k, 2, keys.channels.queueTicks, 0, ANY_SLOT);
    await admit(k, 4);
    for (const user of [31, 32]) await enter(k, user);
    await run(QUEUE_LEAVE, k, 25, keys.channels.queueTicks, 0);

    const { figures, entries } = await feed(k, 0);
    expect(entries!.map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(figures.logSeq).toBe(7);
    expect(figures.logEpoch).toBe(baseline.figures.logEpoch);
    for (const entry of entries!) for (const [user, place] of followed) followed.set(user, placeAfter(place, user, entry));
    for (const user of users) {
      const place = followed.get(user)!;
      const rank = await rankOf(k, user);
      if (rank !== null) expect(place, `fan ${user}`).toMatchObject({ state: 'WAITING', position: rank });
      else if (Number(await redis.zscore(k.active, String(user))) > 0) expect(place.state, `fan ${user}`).toBe('ACTIVE');
      else expect(place.state, `fan ${user}`).toBe('NONE');
    }
    expect(followed.get(2)!.state).toBe('NONE');
    expect(followed.get(12)!.state).toBe('NONE');
    // Read again later: only what came after.
    expect((await feed(k, 7)).entries).toEqual([]);
    expect((await feed(k, 5)).entries!.map((entry) => entry.seq)).toEqual([6, 7]);
  });

  it('logs the absent a tick drops as two lists, the fans and their scores as Redis holds them, which decode to the same fans and exact numbers', async () => {
    const k = keys.queue(nextId++);
    await redis.set(k.sales, String(Date.now() + HOUR));
    // Pre-queue places at both ends of their range, and one that needs all 53 bits of a double.
    const preScores = [-(2 ** 53), -1, -(2 ** 52) - 1];
    for (const [i, preScore] of preScores.entries()) await run(QUEUE_ENTER, k, i + 1, preScore, 3, keys.channels.queueTicks, 0);
    await redis.set(k.sales, 'open');
    for (const user of [4, 5, 6]) await enter(k, user);
    const dropped = [1, 2, 3, 5];
    const scores = await Promise.all(dropped.map(async (user) => (await redis.zscore(k.wait, String(user)))!));
    expect(scores.slice(0, 3)).toEqual(['-9007199254740992', '-1', '-4503599627370497']);
    const before = await watch(k, 0, 'r', 4, 6);
    expect(before.places.map((place) => place.state === 'WAITING' && place.position)).toEqual([4, 6]);
    // Absent: four fans in line, and the presence of someone no longer in it (an admitted fan's, left to lapse).
    await redis.zadd(k.seen, 0, '1', 0, '10', 0, '2', 0, '3', 0, '5');
    expect((await admit(k, 0, 5000))[4]).toBe(4);

    const raw = await redis.xrange(k.departures, '-', '+');
    expect(raw).toHaveLength(1);
    // The first entry of the log: the one before it has no stamp (see the log's own test).
    expect(raw[0]![1]).toEqual(['p', '', 'd', '1,2,3,5', 'ds', scores.join(',')]);
    const entry = decodeDepartures(raw[0]!);
    expect(entry.leftLine).toEqual(new Set(dropped));
    expect(entry.scores).toEqual(scores.map(Number).sort((a, b) => a - b));
    expect(entry.scores.slice(0, 2)).toEqual([-(2 ** 53), -(2 ** 52) - 1]);
    for (const [i, user] of [4, 6].entries()) expect(placeAfter(before.places[i]!, user, entry)).toMatchObject({ state: 'WAITING', position: await rankOf(k, user) });
    expect(await rankOf(k, 6)).toBe(2);
  });

  it('reads the figures alone, as a status reply carries them', async () => {
    const k = await concert();
    for (const user of [1, 2, 3]) await enter(k, user);
    await admit(k, 1);
    const figures = await run(QUEUE_FIGURES_NOW, k);
    expect(figures.slice(0, 2)).toEqual([2, 1]);
    expect(figures).toEqual(await run(QUEUE_STATUS, k));
  });

  it('lets the log and the rate list of a line nobody uses any more expire; the log then starts over where it was', async () => {
    const k = await concert();
    for (const user of [1, 2, 3]) await enter(k, user);
    await admit(k, 1);
    const logTtl = await redis.pttl(k.departures);
    expect(logTtl).toBeGreaterThan(DEPARTURES_TTL_MS - 5000);
    expect(logTtl).toBeLessThanOrEqual(DEPARTURES_TTL_MS);
    const rateTtl = await redis.pttl(k.admissions);
    expect(rateTtl).toBeGreaterThan(0);
    expect(rateTtl).toBeLessThanOrEqual(120_000);

    // Expired (sooner here): a follower at the log's last entry reads the next one as contiguous.
    const { figures } = await feed(k, 0);
    await redis.pexpire(k.departures, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await redis.exists(k.departures)).toBe(0);
    await run(QUEUE_LEAVE, k, 3, keys.channels.queueTicks, 0);
    const after = await feed(k, figures.logSeq);
    expect(after.figures.logSeq).toBe(figures.logSeq + 1);
    expect(after.entries?.map((entry) => entry.seq)).toEqual([figures.logSeq + 1]);
    // Each entry names the stamp of the one before it (the figures' logAt when that was the last), also across the expiry.
    expect(figures.logAt).toMatch(/^\d{16}$/);
    expect(after.entries?.[0]?.before).toBe(figures.logAt);
    expect(after.figures.logAt).toMatch(/^\d{16}$/);
    expect(after.figures.logAt).not.toBe(figures.logAt);
    expect(await redis.pttl(k.departures)).toBeGreaterThan(DEPARTURES_TTL_MS - 5000);
  });

  it('logs exactly the dropped fans in the order their presence lapsed, over several batches with presence of fans no longer in line between them', async () => {
    const k = await concert();
    const fans = Array.from({ length: 1500 }, (_, i) => i + 1);
    await redis.zadd(k.wait, ...fans.flatMap((fan) => [1000 + fan, fan]));
    const now = await redisNow();
    // Every fan not a multiple of 3 lapsed at `fan` ms; between them, fans already out of line.
    const lapsed = fans.filter((fan) => fan % 3 !== 0);
    const gone = Array.from({ length: 400 }, (_, i) => [3 * i + 0.5, 100_001 + i] as const);
    await redis.zadd(k.seen, ...fans.flatMap((fan) => [fan % 3 === 0 ? now : fan, fan]), ...gone.flat());
    expect((await admit(k, 0, 5000))[4]).toBe(lapsed.length);
    const raw = await redis.xrange(k.departures, '-', '+');
    expect(raw.at(-1)![1].slice(2)).toEqual(['d', lapsed.join(','), 'ds', lapsed.map((fan) => 1000 + fan).join(',')]);
    const entry = decodeDepartures(raw.at(-1)!);
    expect(entry.leftLine).toEqual(new Set(lapsed));
    expect(entry.scores).toEqual(lapsed.map((fan) => 1000 + fan));
    expect(await redis.zcard(k.wait)).toBe(500);
    expect(await redis.zcard(k.seen)).toBe(500);
  });

  it('takes a silent replica for dead a beat past the grace: it may have lived almost a beat past its last one', () => {
    for (const grace of [2, 60, 600]) {
      const { intervalMs, deadAfterMs } = watchBeat(grace);
      expect(deadAfterMs).toBe(grace * 1000 + intervalMs);
    }
  });

  it('refuses a drop entry whose fans and scores differ in number: every later position would be off', () => {
    expect(() => decodeDepartures(['3-0', ['d', '1,2', 'ds', '5']])).toThrow('2 dropped fans but 1 scores');
    expect(() => decodeDepartures(['3-0', ['d', '1']])).toThrow('1 dropped fans but 0 scores');
    expect(decodeDepartures(['3-0', ['d', '1,2', 'ds', '5,-3']])).toMatchObject({ leftLine: new Set([1, 2]), scores: [-3, 5] });
  });

  it('logs expiry, sales opening and a sell-out; a reader too far behind is told to read places anew', async () => {
    const k = keys.queue(nextId++);
    // Both pre-queued; the time has come by the first tick, which opens (set, not waited for: on a
    // loaded machine a short wait let the second entry open sales).
    await redis.set(k.sales, String((await redisNow()) + HOUR));
    await enter(k, 1);
    await enter(k, 2);
    await redis.set(k.sales, String((await redisNow()) - 1));
    await admit(k, 1, HOUR, HOUR, 30);
    await sleep(60);
    // The second fan's slot outlasts the test: its end would be logged however slow the machine.
    await admit(k, 1, HOUR, HOUR, HOUR);
    await run(QUEUE_ADMIT, k, 1, 60_000, 5000, 60_000, HOUR, HOUR, 0, 1, 60_000, HOUR, '', HOUR, '|');
    const { entries } = await feed(k, 0);
    // The pre-queue's order is drawn: whoever came first.
    const [first] = entries![0]!.admitted;
    const second = first === 1 ? 2 : 1;
    expect(entries![0]).toMatchObject({ seq: 1, opened: true, admitted: new Set([first]) });
    expect(entries![1]).toMatchObject({ slotEnded: new Set([first]), admitted: new Set([second]) });
    // Sold out with nobody left in line: nothing to log.
    expect(entries).toHaveLength(2);
    await run(QUEUE_ADMIT, k, 1, 60_000, 5000, 60_000, HOUR, HOUR, 0, 0, 60_000, HOUR, '', HOUR, (await redis.hmget(k.stats, 'soldOut', 'closedAt')).map((value) => value ?? '').join('|'));
    await enter(k, 3);
    await run(QUEUE_ADMIT, k, 1, 60_000, 5000, 60_000, HOUR, HOUR, 0, 1, 60_000, HOUR, '', HOUR, '|');
    expect((await feed(k, 2)).entries).toMatchObject([{ seq: 3, lineEmptied: true }]);
    await redis.hset(k.stats, 'logSeq', 5000);
    expect((await feed(k, 0)).entries).toBeNull();
  });

  it('takes no silent replica for dead at the tick that finds a gap between ticks: its beats were missing for the same reason', async () => {
    const k = await concert();
    await enter(k, 7);
    await watch(k, 1, 'A', 7);
    // Nothing for 10 s: no tick, and no beat of replica A.
    const now = await redisNow();
    await redis.hset(k.stats, 'tickAt', now - 10_000);
    await redis.zadd(k.replicas, now - 10_000, 'A');
    // Dead after 5 s of silence; a gap of over 2 s between ticks means the line was unattended.
    expect((await run(QUEUE_ADMIT, k, 0, 60_000, 5000, 60_000, 5000, 5000, -1, 0, 60_000, 5000, '', 2000, '|'))[10]).toBe(1);
    // A still holds its fan (its next beat finds its last one too old, and it registers anew).
    expect(await redis.hget(k.watchCount, '7')).toBe('1');
    expect(await redis.zscore(k.watchers, 'A:7')).not.toBeNull();
  });

  it('tells a replica registering after a silence longer than deadAfterMs that it was forgotten: a tick may have released some of its fans', async () => {
    const k = await concert();
    for (const user of [7, 8]) await enter(k, user);
    const register = async (deadAfterMs: number, user: number) => decodeWatchReply(await run(QUEUE_WATCH, k, 1, 'A', deadAfterMs, user)).forgotten;
    expect(await register(HOUR, 7)).toBe(true);
    expect(await register(5000, 8)).toBe(false);
    // Still listed, its last beat 10 s ago.
    await redis.zadd(k.replicas, (await redisNow()) - 10_000, 'A');
    expect(await register(5000, 8)).toBe(true);
  });

  it('reads a slot that ran out before any tick swept it as NONE, not as one lost for idleness, and logs nothing', async () => {
    const k = await concert();
    await enter(k, 1);
    // A tick admits fan 1 for 100 ms, with an idle time of 300 ms.
    expect((await run(QUEUE_ADMIT, k, 1, 100, 5000, 60_000, HOUR, 300, -1, 0, 60_000, HOUR, '', HOUR, '|'))[0]).toBe(1);
    // No tick since: the slot ran out, and the fan has been silent past the idle time too.
    await sleep(500);
    // The fan's state and value follow the figures (7 as run returns them).
    expect((await run(QUEUE_STATUS, k, 1)).slice(7, 9)).toEqual([0, 0]);
    // The one entry of the log is the admission (the next tick logs the expiry).
    expect(await redis.xlen(k.departures)).toBe(1);
  });

  it('a watched fan stays present however long; released, or held by a replica that stopped beating, they lapse after the grace', async () => {
    const k = await concert();
    for (const user of [1, 2, 3, 4]) await enter(k, user);
    await watch(k, 1, 'alive', 1, 2);
    await watch(k, 1, 'doomed', 2, 3);
    expect(await redis.hgetall(k.watchCount)).toEqual({ '1': '1', '2': '2', '3': '1' });
    expect(await redis.hgetall(k.watchSums)).toEqual({ alive: '3', doomed: '5' });
    // Everyone was last seen long ago; the watched are WATCHED, whatever a status call says.
    await redis.zadd(k.seen, 0, '4');
    await run(QUEUE_STATUS, k, 1, 2, 3);
    expect(await redis.zscore(k.seen, '1')).toBe(String(2 ** 52));
    await admit(k, 0, 5000);
    expect(await redis.zrange(k.wait, 0, -1)).toEqual(['1', '2', '3']);

    // A released fan's grace starts now; another replica still holding them keeps them present.
    await run(QUEUE_UNWATCH, k, 'alive', 1);
    expect(Number(await redis.zscore(k.seen, '1'))).toBeLessThan(2 ** 52);
    await run(QUEUE_UNWATCH, k, 'alive', 2);
    expect(await redis.zscore(k.seen, '2')).toBe(String(2 ** 52));
    await run(QUEUE_UNWATCH, k, 'alive', 2);
    expect(await redis.hget(k.watchCount, '2')).toBe('1');

    expect(await redis.hgetall(k.watchSums)).toEqual({ alive: '0', doomed: '5' });
    // 'doomed' follows 2 and 3, both held here. Following a fourth fan, it learns one hold is missing;
    // following 2 and 4 (3 held here for nobody, as after Redis came back from an older snapshot),
    // that one is not its own: either way its holds are not what it follows.
    expect(await run(QUEUE_HEARTBEAT, k, 'doomed', 5000, 2, 5)).toBe(BEAT_KNOWN);
    expect(await run(QUEUE_HEARTBEAT, k, 'doomed', 5000, 3, 9)).toBe(BEAT_MISMATCHED);
    expect(await run(QUEUE_HEARTBEAT, k, 'doomed', 5000, 2, 6)).toBe(BEAT_MISMATCHED);
    // 'doomed' stops beating: after deadAfterMs its fans count from their latest sign, its last beat
    // (6 s ago) at the earliest: 3's last status call was 7 s ago, so the beat; 2 was released by
    // 'alive' just now, so now (that socket closed long after 'doomed' died).
    const now = await redisNow();
    await redis.hset(k.watchedSeen, '3', now - 7000);
    // A tick also counts the fans some replica follows (the concert stays in the tick's index while any is).
    expect((await admit(k, 0))[10]).toBe(2);
    await redis.zadd(k.replicas, now - 6000, 'doomed');
    expect((await admit(k, 0, 8000, 5000))[10]).toBe(0);
    expect(await redis.zscore(k.replicas, 'doomed')).toBeNull();
    expect(await redis.hget(k.watchSums, 'doomed')).toBeNull();
    expect(await redis.hgetall(k.watchCount)).toEqual({});
    expect(await redis.hgetall(k.watchedSeen)).toEqual({});
    expect(await redis.zrange(k.wait, 0, -1)).toEqual(['1', '2', '3']);
    await admit(k, 0, 5000, 5000);
    expect(await redis.zrange(k.wait, 0, -1)).toEqual(['1', '2']);
    // Forgotten, it learns so at its next beat; so does one still listed whose last beat is past
    // deadAfterMs (a tick may have released part of its fans and run out of budget for the rest).
    expect(await run(QUEUE_HEARTBEAT, k, 'doomed', 5000, 0, 0)).toBe(BEAT_FORGOTTEN);
    await redis.zadd(k.replicas, (await redisNow()) - 6000, 'late');
    expect(await run(QUEUE_HEARTBEAT, k, 'late', 5000, 0, 0)).toBe(BEAT_FORGOTTEN);
    expect(await run(QUEUE_HEARTBEAT, k, 'late', 5000, 0, 0)).toBe(BEAT_KNOWN);
  });

  it('admits nobody while a dead replica’s fans are not all released (5,000 a tick, by name): one left over, absent, may stand at the front', async () => {
    const k = await concert();
    // Fan 999 is first in line, 7 second; 999 and 5,000 others are followed by 'doomed', 7 by nobody.
    const followed = [999, ...Array.from({ length: 5002 }, (_, i) => i + 1).filter((user) => user !== 999 && user !== 7)];
    await enter(k, 999);
    await enter(k, 7);
    await Promise.all(followed.slice(1).map((user) => enter(k, user)));
    for (let i = 0; i < followed.length; i += 2500) await watch(k, 1, 'doomed', ...followed.slice(i, i + 2500));
    // 'doomed' last beat 10 s ago, and its fans' last signs are as old: dead, and each of its fans past
    // the grace, released by member name ("1", "10", "100", …): 999, whose name sorts last, is left
    // for the next tick.
    const longAgo = (await redisNow()) - 10_000;
    await redis.zadd(k.replicas, longAgo, 'doomed');
    await redis.hset(k.watchedSeen, Object.fromEntries(followed.map((user) => [user, longAgo])));
    expect((await admit(k, 1, 5000, 5000)).slice(0, 5)).toEqual([0, 0, 2, 0, 5000]);
    expect(await redis.zrange(k.wait, 0, 1)).toEqual(['999', '7']);
    expect((await admit(k, 1, 5000, 5000)).slice(0, 5)).toEqual([1, 0, 0, 1, 1]);
    expect(await redis.zrange(k.active, 0, -1)).toEqual(['7']);
  });

  it('a log whose count was lost (stats gone, entries kept) starts over instead of refusing every entry', async () => {
    const k = await concert();
    await enter(k, 1);
    await enter(k, 2);
    await run(QUEUE_LEAVE, k, 1, keys.channels.queueTicks, 0);
    await redis.del(k.stats);
    await run(QUEUE_LEAVE, k, 2, keys.channels.queueTicks, 0);
    const { figures, entries } = await feed(k, 0);
    expect(figures.logSeq).toBe(1);
    expect(entries!.map((entry) => [...entry.leftLine])).toEqual([[2]]);
  });

  it("enter, leave and the end of a slot tell live feeds of a followed fan's change from inside the script; nobody hears of others", async () => {
    const k = await concert();
    const id = Number(k.wait.match(/\{c:(\d+)\}/)![1]);
    const listener = createRedis(TEST_REDIS, { enableOfflineQueue: true });
    const heard: unknown[] = [];
    const channel = `${prefix}:fan-changes`;
    listener.on('message', (_channel: string, message: string) => heard.push(JSON.parse(message)));
    await listener.subscribe(channel);
    try {
      // Fan 6: followed by no replica, so nobody needs to hear of their changes.
      await run(QUEUE_ENTER, k, 6, -1, 3, channel, id);
      await run(QUEUE_LEAVE, k, 6, channel, id);
      await watch(k, 1, 'r', 5);
      await run(QUEUE_ENTER, k, 5, -1, 3, channel, id);
      await admit(k, 1);
      await run(QUEUE_END_ACTIVE, k, 5, channel, id, ANY_SLOT);
      await run(QUEUE_END_ACTIVE, k, 5, channel, id, ANY_SLOT);
      await run(QUEUE_LEAVE, k, 5, channel, id);
      await vi.waitFor(() => expect(heard).toHaveLength(3));
      // The listener's connection answers in order: a PING after the scripts comes back after any message they sent.
      await listener.ping();
      expect(heard).toHaveLength(3);
      for (const message of heard) expect(message).toEqual({ concerts: [], fans: [[id, 5]] });
    } finally {
      listener.disconnect();
    }
  });

  it('an admitted watched fan stays present while ACTIVE; ending a slot is logged once', async () => {
    const k = await concert();
    await enter(k, 1);
    await watch(k, 1, 'r', 1);
    await admit(k, 1);
    expect(await redis.zscore(k.activeSeen, '1')).toBe(String(2 ** 52));
    // A slot ending after the time given is a later turn than the one to end: kept, presence and all.
    const endsAt = Number(await redis.zscore(k.active, '1'));
    expect(await run(QUEUE_END_ACTIVE, k, 1, keys.channels.queueTicks, 0, endsAt - 1)).toBe(0);
    expect([await redis.zscore(k.active, '1'), await redis.zscore(k.activeSeen, '1')]).toEqual([String(endsAt), String(2 ** 52)]);
    expect(await run(QUEUE_END_ACTIVE, k, 1, keys.channels.queueTicks, 0, endsAt)).toBe(1);
    expect(await run(QUEUE_END_ACTIVE, k, 1, keys.channels.queueTicks, 0, endsAt)).toBe(0);
    const { entries } = await feed(k, 1);
    expect(entries!.map((entry) => [...entry.slotEnded])).toEqual([[1]]);
  });
});

describe('inventory scripts', () => {
  const schedule = () => {
    const id = nextId++;
    return { inventory: keys.inventory(id), holds: keys.holds(id) };
  };

  it('reads unknown (-1) until rebuilt, whatever bits sales set meanwhile; counts live holds only', async () => {
    const { inventory, holds } = schedule();
    expect(await run(INVENTORY_READ, inventory)).toEqual([-1, 0]);
    // A sale committed while the bitmap was missing: its bit is kept, but the count stays unknown.
    expect(await run(INVENTORY_MARK, inventory, 1, 7)).toBe(1);
    expect(await run(INVENTORY_READ, inventory)).toEqual([-1, 0]);
    // The rebuild ORs MySQL's seats in, in chunks; the last chunk marks it complete.
    expect(await run(INVENTORY_REBUILD, inventory, 0, 1, 2)).toBe(-1);
    expect(await run(INVENTORY_READ, inventory)).toEqual([-1, 0]);
    expect(await run(INVENTORY_REBUILD, inventory, 1, 3)).toBe(4);
    expect(await run(INVENTORY_READ, inventory)).toEqual([4, 0]);

    await run(HOLD_SEAT, holds, 10, 1, 'h1', 60_000, 10);
    await run(HOLD_SEAT, holds, 11, 1, 'h2', 30, 10);
    await sleep(80);
    expect(await run(INVENTORY_READ, inventory)).toEqual([4, 1]);
  });

  it('marks seats sold and free again, idempotently', async () => {
    const { inventory } = schedule();
    await run(INVENTORY_REBUILD, inventory, 1);
    expect(await run(INVENTORY_READ, inventory)).toEqual([0, 0]);
    await run(INVENTORY_MARK, inventory, 1, 5, 6);
    await run(INVENTORY_MARK, inventory, 1, 5);
    expect(await run(INVENTORY_READ, inventory)).toEqual([2, 0]);
    await run(INVENTORY_MARK, inventory, 0, 5);
    await run(INVENTORY_MARK, inventory, 0, 5);
    expect(await run(INVENTORY_READ, inventory)).toEqual([1, 0]);
    // Losing the key means unknown again, never "none sold".
    await redis.del(inventory.sold);
    expect(await run(INVENTORY_READ, inventory)).toEqual([-1, 0]);
  });

  it('keeps a cancellation marked during a rebuild: the rebuild, reading MySQL before it, does not sell the seat again', async () => {
    const { inventory } = schedule();
    // MySQL read: seats 1, 2 and 3 reserved. Seat 2 is cancelled after that read, between two chunks.
    expect(await run(INVENTORY_REBUILD, inventory, 0, 1)).toBe(-1);
    await run(INVENTORY_MARK, inventory, 0, 2);
    expect(await run(INVENTORY_REBUILD, inventory, 1, 2, 3)).toBe(2);
    expect(await redis.exists(inventory.marks)).toBe(0);
    // Sold again after the rebuild completed: marks now go to the bitmap alone.
    await run(INVENTORY_MARK, inventory, 1, 2);
    expect(await run(INVENTORY_READ, inventory)).toEqual([3, 0]);
    expect(await redis.exists(inventory.marks)).toBe(0);
  });

  it('leaves a complete bitmap alone when a second rebuild, with an older read of MySQL, comes late', async () => {
    const { inventory } = schedule();
    // Two processes read MySQL (seat 4 reserved); one completes, then seat 4 is cancelled.
    expect(await run(INVENTORY_REBUILD, inventory, 1, 4)).toBe(1);
    await run(INVENTORY_MARK, inventory, 0, 4);
    expect(await run(INVENTORY_REBUILD, inventory, 0, 4)).toBe(-1);
    expect(await run(INVENTORY_REBUILD, inventory, 1, 4)).toBe(0);
    expect(await run(INVENTORY_READ, inventory)).toEqual([0, 0]);
  });
});

describe.runIf('clusterNodes' in TEST_REDIS)('on a Redis Cluster', () => {
  it('keeps each script\'s keys in one slot, where keys of two slots are refused', async () => {
    // The scripts above ran here without CROSSSLOT; this shows the cluster would have said so.
    await expect(redis.eval("return redis.call('GET', KEYS[1])", 2, `${prefix}:{a}`, `${prefix}:{b}`)).rejects.toThrow(/CROSSSLOT|slot/i);
  });

  it('follows ASK for commands of a migrating slot sent in the same tick as commands of another slot of that node (a connection made as the app makes its own)', async () => {
    const cluster = redis as Cluster;
    const masters = cluster.nodes('master');
    const ids = await Promise.all(masters.map(async (node) => String(await node.cluster('MYID'))));
    const slotMap = await cluster.cluster('SLOTS');
    const ownerOf = (slot: number) => slotMap.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[2];
    // Two keys in different slots of one master; the first one's slot migrates to another master.
    const keyed = await Promise.all(Array.from({ length: 40 }, async (_, i) => ({ key: `${prefix}:{ask-${i}}`, slot: Number(await cluster.cluster('KEYSLOT', `${prefix}:{ask-${i}}`)) })));
    const moving = keyed[0]!;
    const staying = keyed.find((k) => k.slot !== moving.slot && ownerOf(k.slot) === ownerOf(moving.slot))!;
    const source = masters[ids.indexOf(ownerOf(moving.slot)!)]!;
    const target = masters.find((node) => node !== source)!;
    const app = createRedis(TEST_REDIS, { enableAutoPipelining: true });
    await redisReady(app);
    await target.cluster('SETSLOT', moving.slot, 'IMPORTING', ids[masters.indexOf(source)]!);
    await source.cluster('SETSLOT', moving.slot, 'MIGRATING', ids[masters.indexOf(target)]!);
    try {
      // The moving key is on neither node yet: the source answers ASK, which the client must follow.
      const replies = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? app.incr(staying.key) : app.get(moving.key))));
      expect(replies.filter((reply) => reply.status === 'rejected').map((reply) => String((reply as PromiseRejectedResult).reason))).toEqual([]);
    } finally {
      await Promise.all([source, target].map((node) => node.cluster('SETSLOT', moving.slot, 'STABLE')));
      app.disconnect();
    }
  });
});

/** A connection of its own subscribed to `channel`: what it hears, each message read by `read`. */
async function listenTo<T>(channel: string, read: (message: string) => T): Promise<{ heard: T[]; stop: () => void }> {
  const listener: RedisClient = redis.duplicate();
  await redisReady(listener);
  const heard: T[] = [];
  listener.on('message', (_channel: string, message: string) => heard.push(read(message)));
  await listener.subscribe(channel);
  return { heard, stop: () => listener.disconnect() };
}

describe('seat changes', () => {
  it('are published on the channel in the order sent, each with its seat log entry, and the log stays its idle time', async () => {
    const channel = `${prefix}:channel`;
    const { heard, stop } = await listenTo(channel, (message) => JSON.parse(message) as { n: number; seatChangesCursor: string });
    const log = { log: keys.channels.seatLog(nextId++) };
    const messages = Array.from({ length: 50 }, (_, n) => JSON.stringify({ n }));
    await Promise.all(messages.map((message) => run(PUBLISH_SEAT_CHANGE, log, 60_000, 600_000, channel, message)));
    await vi.waitFor(() => expect(heard.map(({ n }) => n)).toEqual(messages.map((_, n) => n)), { timeout: 3000 });
    const logged = await redis.xrange(log.log, '-', '+');
    expect(logged).toEqual(heard.map(({ n, seatChangesCursor }) => [seatChangesCursor, ['m', JSON.stringify({ n })]]));
    expect(await redis.pttl(log.log)).toBeGreaterThan(590_000);
    stop();
  });

  it('are told once by the first caller to claim the key only, logged in order, and the claim forgotten after its time', async () => {
    const channel = `${prefix}:once`;
    const { heard, stop } = await listenTo(channel, (message) => message);
    const keysOfOnce = { told: keys.channels.paymentTold(nextId++, 1), log: keys.channels.seatLog(nextId++) };
    const replies = await Promise.all(Array.from({ length: 10 }, () => run(PUBLISH_ONCE, keysOfOnce, 60_000, 60_000, 600_000, channel, '{"a":1}', '{"b":2}')));
    expect(replies.sort()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const logged = await redis.xrange(keysOfOnce.log, '-', '+');
    expect(logged.map(([, [, message]]) => message)).toEqual(['{"a":1}', '{"b":2}']);
    await vi.waitFor(() => expect(heard).toEqual([`{"a":1,"seatChangesCursor":"${logged[0]![0]}"}`, `{"b":2,"seatChangesCursor":"${logged[1]![0]}"}`]), { timeout: 3000 });
    expect(await redis.pttl(keysOfOnce.told)).toBeGreaterThan(50_000);
    stop();
  });

  it('are read back after a cursor, which stands before any change to come; one ahead of the clock is refused', async () => {
    const channel = `${prefix}:log`;
    const log = { log: keys.channels.seatLog(nextId++) };
    const before = await run(SEAT_LOG_CURSOR, log);
    await run(PUBLISH_SEAT_CHANGE, log, 60_000, 600_000, channel, '{"n":1}');
    const middle = await run(SEAT_LOG_CURSOR, log);
    await run(PUBLISH_SEAT_CHANGE, log, 60_000, 600_000, channel, '{"n":2}');
    const messagesAfter = async (cursor: string) => (await run(SEAT_LOG_SINCE, log, cursor, 60_000, 600_000, 1))?.map(([, [, message]]) => message);
    expect(await messagesAfter(before)).toEqual(['{"n":1}', '{"n":2}']);
    expect(await messagesAfter(middle)).toEqual(['{"n":2}']);
    expect(await messagesAfter(await run(SEAT_LOG_CURSOR, log))).toEqual([]);
    const [ms] = middle.split('-').map(Number) as [number];
    expect(await run(SEAT_LOG_SINCE, log, `${ms + 120_000}-0`, 60_000, 600_000, 1)).toBeNull();
  });

  it('refuse, strictly, a cursor older than the log keeps what came after it: more than its keep time before the last change, or, the log gone, older than its idle time', async () => {
    const channel = `${prefix}:stale`;
    const log = { log: keys.channels.seatLog(nextId++) };
    const [keepMs, idleMs] = [300, 1_000];
    const since = (cursor: string, strict: 0 | 1 = 1) => run(SEAT_LOG_SINCE, log, cursor, keepMs, idleMs, strict);
    // No log yet: a cursor within the idle time has nothing after it; an older one may have lost what did.
    const start = await run(SEAT_LOG_CURSOR, log);
    const [startMs] = start.split('-').map(Number) as [number];
    expect(await since(start)).toEqual([]);
    expect(await since(`${startMs - idleMs - 100}-0`)).toBeNull();

    await run(PUBLISH_SEAT_CHANGE, log, keepMs, idleMs, channel, '{"n":1}');
    const afterFirst = await run(SEAT_LOG_CURSOR, log);
    // Quiet past the keep time: nothing was trimmed since, so the cursor still reads (an empty catch-up).
    await new Promise((resolve) => setTimeout(resolve, keepMs + 100));
    expect(await since(afterFirst)).toEqual([]);
    // A change more than the keep time after the cursor: what came between may be gone, refused;
    // not strictly, what is left.
    await run(PUBLISH_SEAT_CHANGE, log, keepMs, idleMs, channel, '{"n":2}');
    expect(await since(afterFirst)).toBeNull();
    expect((await since(afterFirst, 0))?.map(([, [, message]]) => message)).toEqual(['{"n":2}']);
    // A cursor within the keep time of the last change reads on.
    expect(await since(await run(SEAT_LOG_CURSOR, log))).toEqual([]);
  });

  it('are trimmed from the log once older than its keep time, and the log goes its idle time after its last change', async () => {
    const channel = `${prefix}:trim`;
    const log = { log: keys.channels.seatLog(nextId++) };
    for (let n = 1; n <= 150; n++) await run(PUBLISH_SEAT_CHANGE, log, 300, 1_000, channel, JSON.stringify({ n }));
    await new Promise((resolve) => setTimeout(resolve, 400));
    await run(PUBLISH_SEAT_CHANGE, log, 300, 1_000, channel, '{"n":151}');
    // Trimming is approximate, by whole stream nodes (100 entries): the first hundred, all past their time, are gone.
    const kept = (await redis.xrange(log.log, '-', '+')).map(([, [, message]]) => (JSON.parse(message!) as { n: number }).n);
    expect(kept[0]).toBeGreaterThan(100);
    expect(kept.at(-1)).toBe(151);
    await vi.waitFor(async () => expect(await redis.exists(log.log)).toBe(0), { timeout: 3000, interval: 50 });
  });
});

describe('tick announcements', () => {
  it('number each tick and publish it with its number, in order, also when sent at once', async () => {
    const channel = `${prefix}:ticks`;
    const { heard, stop } = await listenTo(channel, (message) => JSON.parse(message) as { concerts: number[]; seq: number });
    const counter = { seq: keys.tickSeq };
    const seqs = await Promise.all([[], [1], [2, 3]].map((concerts) => run(PUBLISH_TICK, counter, channel, JSON.stringify({ concerts }).slice(0, -1))));
    const first = seqs[0]!;
    expect(seqs).toEqual([first, first + 1, first + 2]);
    await vi.waitFor(() => expect(heard).toEqual([{ concerts: [], seq: first }, { concerts: [1], seq: first + 1 }, { concerts: [2, 3], seq: first + 2 }]), { timeout: 3000 });
    stop();
  });
});

describe('socket scripts', () => {
  it('open a socket while fewer than the limit hold live leases; a lapsed lease frees its place, and is counted again if its socket is still open', async () => {
    const sockets = { sockets: keys.sockets(900_001) };
    expect(await run(SOCKET_OPEN, sockets, 'a', 60_000, 2)).toBe(1);
    // Long enough to be live still at the next two calls on a loaded machine; then waited out on Redis's clock.
    expect(await run(SOCKET_OPEN, sockets, 'b', 1_000, 2)).toBe(1);
    expect(await run(SOCKET_OPEN, sockets, 'c', 60_000, 2)).toBe(0);
    expect(await run(SOCKET_RENEW, sockets, 'a', 60_000)).toBe(1);
    await sleep(Math.max(0, Number(await redis.zscore(sockets.sockets, 'b')) - (await redisNow()) + 50));
    expect(await run(SOCKET_OPEN, sockets, 'c', 60_000, 2)).toBe(1);
    expect((await redis.zrange(sockets.sockets, 0, -1)).sort()).toEqual(['a', 'c']);
    // b's replica, stalled past its lease, renews it: its socket is open, so it counts, over the limit.
    expect(await run(SOCKET_RENEW, sockets, 'b', 60_000)).toBe(1);
    expect((await redis.zrange(sockets.sockets, 0, -1)).sort()).toEqual(['a', 'b', 'c']);
    expect(await run(SOCKET_OPEN, sockets, 'd', 60_000, 2)).toBe(0);
    expect(await redis.pttl(sockets.sockets)).toBeGreaterThan(59_000);
  });
});

describe('limit scripts', () => {
  it('count an event against the first limit, and against the second only if the first allows it; a refusal by the second gives the first its point back', async () => {
    // One hash tag: on a Cluster both keys must be on one node (the app counts both at once only on a single server).
    const both = (first: string, second: string) => ({ first: `${keys.limits.account}:{both}${first}`, second: `${keys.limits.ip}:{both}${second}` });
    const fan = both('fan', 'nat');
    expect(await run(COUNT_BOTH, fan, 2, 60, 3, 30)).toEqual([0, 0]);
    expect(await run(COUNT_BOTH, fan, 2, 60, 3, 30)).toEqual([0, 0]);
    // Over the first limit: refused by it, with its window's time left; the second is not counted.
    const [refusedBy, msLeft] = await run(COUNT_BOTH, fan, 2, 60, 3, 30);
    expect(refusedBy).toBe(1);
    expect(msLeft).toBeGreaterThan(59_000);
    expect(await redis.mget(fan.first, fan.second)).toEqual(['3', '2']);
    // Another account behind the same address: its third event there is refused by the address, and its own count given back.
    const other = both('other', 'nat');
    expect(await run(COUNT_BOTH, other, 5, 60, 3, 30)).toEqual([0, 0]);
    const [byAddress, addressLeft] = await run(COUNT_BOTH, other, 5, 60, 3, 30);
    expect(byAddress).toBe(2);
    expect(addressLeft).toBeLessThanOrEqual(30_000);
    expect(addressLeft).toBeGreaterThan(29_000);
    expect(await redis.mget(other.first, other.second)).toEqual(['1', '4']);
    // Each count's window is its own TTL, set once when the count starts (as rate-limiter-flexible keeps them).
    expect(await redis.pttl(fan.first)).toBeGreaterThan(59_000);
    expect(await redis.pttl(fan.second)).toBeLessThanOrEqual(30_000);
  });

  it('give an event back only to a running count above 0, keeping its window', async () => {
    const count = { count: `${keys.limits.loginIp}:give-back` };
    expect(await run(GIVE_BACK, count)).toBe(0);
    expect(await redis.exists(count.count)).toBe(0);
    await redis.set(count.count, 2, 'EX', 60);
    expect(await run(GIVE_BACK, count)).toBe(2);
    expect(await run(GIVE_BACK, count)).toBe(1);
    expect(await run(GIVE_BACK, count)).toBe(0);
    expect(await redis.get(count.count)).toBe('0');
    expect(await redis.pttl(count.count)).toBeGreaterThan(59_000);
  });
});

describe('a failed script in the logs', () => {
  it('keeps the start of its source, not the whole of it (sent on a connection’s first run)', async () => {
    const source = `return redis.call('NO_SUCH_COMMAND') -- ${'x'.repeat(5000)}`;
    const error = await redis.eval(source, 0).then(
      () => undefined,
      (failure: unknown) => failure as Error,
    );
    expect(error?.message).toMatch(/Unknown Redis command|unknown command/i);
    // ioredis's error carries the command it sent, the source among its arguments.
    expect(JSON.stringify(error)).toContain(source);
    const logged = JSON.stringify(serializeError(error!));
    expect(logged).toContain("return redis.call('NO_SUCH_COMMAND')");
    expect(logged).toContain(`(${source.length} characters)`);
    expect(logged.length).toBeLessThan(2000);
  });
});

describe('coverage', () => {
  it('called every declared script', () => {
    expect([...called].sort()).toEqual(SCRIPTS.map((script) => script.name).sort());
  });
});

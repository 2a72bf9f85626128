import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisKeys } from '../src/redis';
import { type TestServer } from './support/harness';
import { MAX_SOCKETS, presenceHelpers, presenceServer, sleep } from './support/presence';

/*
 * Presence across replicas that die (SIGKILL): beside presence.test.ts, on a server of its own with a
 * longer grace, so the two run side by side.
 */

/**
 * A grace of 6 s (a socket lease of 3 s, a beat every second): a fan whose sockets died with a replica
 * has the grace to reconnect elsewhere, and a lapse counted from the wrong moment comes seconds, not
 * tenths of one, from the right one, on a loaded host too.
 */
const LONG_GRACE_S = 6;

let long: TestServer;
const { inLine, subscribe, subscribeWhenLet, poll, twoFansBesideReplica, closeAll } = presenceHelpers(() => long);

beforeAll(async () => {
  long = await presenceServer('presence_replicas', LONG_GRACE_S);
});
afterAll(async () => {
  await closeAll();
  await long?.stop();
});

describe('presence across replicas, with a longer grace', () => {
  it('lets the fans of a SIGKILLed replica lapse after the grace, unless they reconnect elsewhere', async () => {
    const {
      replica: doomed,
      concertId,
      fans: [stranded, moving],
    } = await twoFansBesideReplica(long);
    const a = subscribe(doomed.wsUrl, stranded!, concertId);
    // The moving fan has every socket the account may open on the doomed replica (two tabs, say).
    const b = Array.from({ length: MAX_SOCKETS }, () => subscribe(doomed.wsUrl, moving!, concertId));
    expect((await a.feed.next()).data?.queueStatus.position).toBe(1);
    for (const { feed } of b) expect((await feed.next()).data?.queueStatus.position).toBe(2);
    // Present for longer than the grace while the replica lives.
    await sleep(LONG_GRACE_S * 1000 + 500);
    expect(await inLine(stranded!, concertId, long)).toEqual({ waiting: true, active: false });

    const killed = Date.now();
    doomed.child.kill('SIGKILL');
    await doomed.stop();
    // The dead sockets stop counting against MAX_SOCKETS_PER_USER (a lease of half the grace) soon
    // enough to reconnect within the grace, after which the fan would be gone.
    const elsewhere = await subscribeWhenLet(long.wsUrl, moving!, concertId);
    expect(Date.now() - killed).toBeLessThan(LONG_GRACE_S * 1000);
    expect(elsewhere.first).toMatchObject({ state: 'WAITING', position: 2 });
    await vi.waitFor(async () => expect((await inLine(stranded!, concertId, long)).waiting).toBe(false), { timeout: (LONG_GRACE_S + 3) * 1000, interval: 100 });
    // Not before one grace after the death: the replica may have lived almost a beat past its last beat.
    expect(Date.now() - killed).toBeGreaterThanOrEqual(LONG_GRACE_S * 1000);
    await elsewhere.feed.until((m) => m.data?.queueStatus.position === 1);
    await sleep(LONG_GRACE_S * 1000);
    expect(await inLine(moving!, concertId, long)).toEqual({ waiting: true, active: false });
  });

  it('counts a fan’s presence from their last sign, not from the death of a replica they had left', async () => {
    const {
      replica: doomed,
      concertId,
      fans: [moved, poller],
    } = await twoFansBesideReplica(long);
    for (const fan of [moved!, poller!]) expect((await subscribe(doomed.wsUrl, fan, concertId).feed.next()).data?.queueStatus.state).toBe('WAITING');
    const replicas = redisKeys(long.app.config.redisPrefix).queue(Number(concertId)).replicas;
    // The doomed replica alone holds fans of this concert.
    const [dead, ...others] = await long.app.redis.zrange(replicas, 0, -1);
    expect(others).toEqual([]);

    doomed.child.kill('SIGKILL');
    await doomed.stop();
    const died = Date.now();
    // One fan moves to another replica, then closes that socket too; the other only polls over HTTP.
    const elsewhere = subscribe(long.wsUrl, moved!, concertId);
    expect((await elsewhere.feed.next()).data?.queueStatus.state).toBe('WAITING');
    poll(poller!, concertId);
    await sleep(died + 1500 - Date.now());
    // The dead replica is released about one grace after its last beat (some 4.5 s from now): not yet.
    expect(await long.app.redis.zscore(replicas, dead!)).not.toBeNull();
    const closing = Date.now();
    await elsewhere.close();
    // What counts when the dead replica's hold is released is the later socket's end (and every
    // poll), not its last beat: counted from that beat, the tick that releases it would drop the fan
    // at once (the fan's grace ended with it).
    await vi.waitFor(async () => expect(await long.app.redis.zscore(replicas, dead!)).toBeNull(), { timeout: (LONG_GRACE_S + 5) * 1000, interval: 50 });
    expect(await inLine(moved!, concertId, long)).toEqual({ waiting: true, active: false });
    // Gone one grace after the socket's end, not before.
    await vi.waitFor(async () => expect((await inLine(moved!, concertId, long)).waiting).toBe(false), { timeout: (LONG_GRACE_S + 3) * 1000, interval: 100 });
    expect(Date.now() - closing).toBeGreaterThanOrEqual(LONG_GRACE_S * 1000);
    expect(await inLine(poller!, concertId, long)).toEqual({ waiting: true, active: false });
  });
});

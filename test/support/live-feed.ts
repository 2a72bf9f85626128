import { expect } from 'vitest';
import { Api } from '../../support/graphql-client';
import { type QueueStatus, STATUS_SUBSCRIPTION } from '../../support/operations';
import { Feed, signUpMany, wsClient, type Account } from './client';
import { seatFeed, seatIds } from './booking';
import { createConcert } from './fixtures';
import type { TestServer } from './harness';

/**
 * A fan out of line whose queueStatus feed has said NONE, behind another fan (`ahead`) who entered a
 * new concert of `capacity` slots and was let in by a tick. The feed's client joins `clients`, for
 * the caller to dispose of.
 */
export async function followedOutOfLine(server: TestServer, capacity: number, clients: ReturnType<typeof wsClient>[]): Promise<{ concertId: string; ahead: Account; fan: Account; feed: Feed<{ queueStatus: QueueStatus }> }> {
  const { concertId } = await createConcert(server, { maxActiveUsers: capacity });
  const [ahead, fan] = (await signUpMany(new Api(server.url), 2)) as [Account, Account];
  const client = wsClient(server.wsUrl, fan.token);
  clients.push(client);
  const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
  expect((await feed.next()).data?.queueStatus.state).toBe('NONE');
  await server.app.services.queue.enter(Number(ahead.id), Number(concertId));
  await server.app.services.queue.admitTick();
  return { concertId, ahead, fan, feed };
}

/**
 * A fan's seatChanged feed of a new 3-seat schedule, live, with a rival: both let in by a tick (the
 * queue service called straight, for a server without workers). `first` and `second` are seats the
 * rival may hold; `close` ends the feed.
 */
export async function seatFeedWithRival(server: TestServer) {
  const { fan, ...rest } = await fanAndRivalAdmitted(server);
  return { ...rest, ...(await seatFeed(server, fan, rest.scheduleId)) };
}

/** A fan and a rival ACTIVE on a new three-seat schedule (the queue service called straight), with its first two seats. */
export async function fanAndRivalAdmitted(server: TestServer) {
  const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 2, seatCount: 3 });
  const scheduleId = scheduleIds[0]!;
  const [fan, rival] = (await signUpMany(new Api(server.url), 2)) as [Account, Account];
  const { queue } = server.app.services;
  await queue.enter(Number(fan.id), Number(concertId));
  await queue.enter(Number(rival.id), Number(concertId));
  await queue.admitTick();
  const [first, second] = (await seatIds(server, scheduleId)) as [string, string];
  return { scheduleId, fan, rival, first, second };
}

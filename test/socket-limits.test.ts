import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from './support/harness';
import { Api } from '../support/graphql-client';
import { SEAT_CHANGED, STATUS_SUBSCRIPTION } from '../support/operations';
import { Feed, signUp, wsClient } from './support/client';
import { createConcert } from './support/fixtures';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('socket_limits');
  api = new Api(server.url);
});
afterAll(() => server.stop());

const LIMIT = 20;

describe('operations per WebSocket', () => {
  it(`stops at ${LIMIT} running at once, and frees a slot when one completes or ends by itself`, async () => {
    const { concertId, scheduleIds } = await createConcert(server);
    const fan = await signUp(api);
    const client = wsClient(server.wsUrl, fan.token);
    try {
      const open = Array.from({ length: LIMIT }, () => new Feed<{ queueStatus: { state: string } }>(client, STATUS_SUBSCRIPTION, { id: concertId }));
      for (const feed of open) expect((await feed.next()).data?.queueStatus.state).toBe('NONE');

      const refused = new Feed(client, STATUS_SUBSCRIPTION, { id: concertId });
      const answer = await refused.next();
      expect(answer.data ?? null).toBeNull();
      expect(answer.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
      // Another connection has its own allowance.
      const other = wsClient(server.wsUrl, fan.token);
      const elsewhere = new Feed<{ queueStatus: { state: string } }>(other, STATUS_SUBSCRIPTION, { id: concertId });
      expect((await elsewhere.next()).data?.queueStatus.state).toBe('NONE');
      await other.dispose();

      // The client completes one: its slot is free again.
      open.pop()!.close();
      await vi.waitFor(async () => {
        const again = new Feed<{ queueStatus: { state: string } }>(client, STATUS_SUBSCRIPTION, { id: concertId });
        const message = await again.next();
        if (message.errors) again.close();
        expect(message.data?.queueStatus.state).toBe('NONE');
        open.push(again);
      });

      // Subscriptions that end by themselves (NOT_ACTIVE: this fan never queued) free theirs:
      // the socket is full, yet each of these is answered by its own resolver, not by the limit.
      open.pop()!.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < LIMIT + 5; i++) {
        const ended = new Feed(client, SEAT_CHANGED, { id: scheduleIds[0] });
        expect((await ended.next()).errors?.[0]?.extensions?.code).toBe('NOT_ACTIVE');
        await vi.waitFor(() => expect(ended.done).toBe(true));
      }
    } finally {
      await client.dispose();
    }
  });
});

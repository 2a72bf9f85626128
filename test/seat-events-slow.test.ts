import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { Socket } from 'node:net';
import { startTestServer, type TestServer } from './support/harness';
import { Api } from '../support/graphql-client';
import { SEAT_CHANGED } from '../support/operations';
import { createConcert } from './support/fixtures';
import { SeatStatus } from '../src/seats/seat';
import { activeFans, channelSubscribers, seatIds } from './support/booking';

let server: TestServer;
let api: Api;
const crashes: string[] = [];
const recordCrash = (error: unknown) => crashes.push(String(error));

beforeAll(async () => {
  server = await startTestServer('seat_events_slow');
  api = new Api(server.url);
  // A subscriber's overflow thrown inside the Redis message handler would be fatal for a real
  // replica. Recorded here so a regression fails this test instead of taking vitest down with it.
  process.on('uncaughtException', recordCrash);
});
afterAll(async () => {
  process.off('uncaughtException', recordCrash);
  await server.stop();
});

interface Message {
  type: string;
  id?: string;
  payload?: { data?: { seatChanged: { id: string; status: SeatStatus } }; errors?: unknown[] } | unknown[];
}

/** A raw graphql-transport-ws client, so the test can stop reading from its socket. */
async function rawSubscriber(token: string, scheduleId: string): Promise<{ ws: WebSocket; messages: Message[] }> {
  const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
  const messages: Message[] = [];
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as Message));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await vi.waitFor(() => expect(messages.some((m) => m.type === 'connection_ack')).toBe(true));
  ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: SEAT_CHANGED, variables: { id: scheduleId } } }));
  const topic = server.app.services.seatEvents.topic(Number(scheduleId));
  await vi.waitFor(async () => {
    const subscribers = await channelSubscribers(server.app.redis, topic);
    expect(subscribers).toBeGreaterThan(0);
  });
  return { ws, messages };
}

const STATUSES = [SeatStatus.AVAILABLE, SeatStatus.HELD, SeatStatus.RESERVED];

describe('a seatChanged subscriber that stops reading', () => {
  it('neither crashes the process nor loses the latest status of any seat', async () => {
    const seatCount = 400;
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount });
    const scheduleId = scheduleIds[0]!;
    const [fan] = await activeFans(api, concertId, 1);
    const ids = (await seatIds(server, scheduleId)).map(Number);
    const { ws, messages } = await rawSubscriber(fan!.token, scheduleId);
    (ws as unknown as { _socket: Socket })._socket.pause();

    // 8 rounds over every seat: 3,200 events, far more than the server sends while each event costs it
    // a Seat.schedule lookup and the client reads nothing; the last round leaves each seat in a status of its own.
    const rounds = 8;
    const final = new Map<string, SeatStatus>();
    for (let round = 0; round < rounds; round++) {
      for (const [status, index] of STATUSES.map((s, i) => [s, i] as const)) {
        const group = ids.filter((_, i) => (i + round) % 3 === index);
        await server.app.services.seatEvents.announce(group, status);
        if (round === rounds - 1) for (const id of group) final.set(String(id), status);
      }
    }
    // Let Redis deliver everything to the server before the client reads again.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(crashes.slice(0, 1)).toEqual([]);
    // Still serving.
    expect(await api.data('{ concerts { id } }')).toBeDefined();

    (ws as unknown as { _socket: Socket })._socket.resume();
    const latest = new Map<string, SeatStatus>();
    let received = 0;
    await vi.waitFor(
      () => {
        for (const message of messages.splice(0)) {
          expect(message.type).toBe('next');
          const payload = message.payload as { data: { seatChanged: { id: string; status: SeatStatus } } };
          latest.set(payload.data.seatChanged.id, payload.data.seatChanged.status);
          received++;
        }
        expect(latest).toEqual(final);
      },
      { timeout: 30_000, interval: 100 },
    );
    // What waited unread was coalesced to one event per seat, not queued.
    expect(received).toBeLessThan(rounds * seatCount);
    expect(crashes.slice(0, 1)).toEqual([]);
    ws.close();
  });
});

import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { guardSends, MAX_UNSENT_BYTES } from '../src/http/socket-writes';
import { capturingLogger } from './support/edge';

const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A server-side socket whose client is connected, and the client. */
async function connected(): Promise<{ socket: WebSocket; client: WebSocket }> {
  const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  // The tests cut connections under it: what the client then hears is not what they check.
  client.on('error', () => undefined);
  await new Promise((resolve) => client.once('open', resolve));
  return { socket: await accepted, client };
}

/** Writes to a socket whose connection has just gone, before ws has heard of it (as when a client vanishes mid-push). */
function sendAfterLoss(socket: WebSocket): Promise<Error | undefined> {
  (socket as unknown as { _socket: { destroy(): void } })._socket.destroy();
  return new Promise((resolve) => socket.send('{"type":"next"}', (error) => resolve(error ?? undefined)));
}

describe('pushes written to a socket whose client has gone', () => {
  it('fail in ws itself (what graphql-ws took for an internal error)…', async () => {
    const { socket, client } = await connected();
    expect(await sendAfterLoss(socket)).toBeInstanceOf(Error);
    client.terminate();
  });

  it('…and count as sent once quieted: nothing logged above debug, and the socket closes as ws closes it', async () => {
    const { socket, client } = await connected();
    const log = capturingLogger();
    guardSends(socket, log.logger);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    expect(await sendAfterLoss(socket)).toBeUndefined();
    await closed;
    expect(log.lines()).toEqual([]);
    client.terminate();
  });

  it('leave sends that work as they were, with or without options', async () => {
    const { socket, client } = await connected();
    guardSends(socket, capturingLogger().logger);
    const received: string[] = [];
    const both = new Promise<void>((resolve) => client.on('message', (data) => received.push(String(data)) === 2 && resolve()));
    await new Promise<void>((resolve, reject) => socket.send('one', (error) => (error ? reject(error) : resolve())));
    await new Promise<void>((resolve, reject) => socket.send('two', { binary: false }, (error) => (error ? reject(error) : resolve())));
    await both;
    expect(received).toEqual(['one', 'two']);
    client.terminate();
  });
});

describe('a socket whose client stops reading', () => {
  const MB = 'x'.repeat(1024 * 1024);
  const pause = (client: WebSocket) => (client as unknown as { _socket: { pause(): void } })._socket.pause();

  it(`is cut off once more than ${MAX_UNSENT_BYTES / 1024 / 1024} MB wait unsent for it, and said so at info level`, async () => {
    const { socket, client } = await connected();
    const log = capturingLogger();
    log.logger.level = 'info';
    guardSends(socket, log.logger);
    pause(client);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    let sent = 0;
    // The kernel's buffers take some MB first; then ws holds the rest.
    while (socket.readyState === WebSocket.OPEN && sent < 200) {
      socket.send(MB);
      sent++;
    }
    await closed;
    expect(sent).toBeGreaterThan(MAX_UNSENT_BYTES / MB.length);
    expect(sent).toBeLessThan(200);
    expect(log.lines().map((line) => line.msg)).toEqual(['cut off a WebSocket whose client stopped reading its answers']);
    client.terminate();
  });

  it('is not cut off while its client reads, however much it is sent in all', async () => {
    const { socket, client } = await connected();
    guardSends(socket, capturingLogger().logger);
    let received = 0;
    client.on('message', () => received++);
    // Twice the bound in all, each MB written before the next is sent: nothing piles up.
    for (let i = 0; i < (2 * MAX_UNSENT_BYTES) / MB.length; i++) await new Promise<void>((resolve, reject) => socket.send(MB, (error) => (error ? reject(error) : resolve())));
    await vi.waitFor(() => expect(received).toBe((2 * MAX_UNSENT_BYTES) / MB.length));
    expect(socket.readyState).toBe(WebSocket.OPEN);
    client.terminate();
  });
});

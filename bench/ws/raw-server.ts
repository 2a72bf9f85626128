/**
 * The position-push baseline: a bare `ws` server (attached to an HTTP server on /graphql, as the
 * app's is) that, when asked, serializes and sends every connected socket its own message of the
 * same size as a queueStatus `next` message: the least work any live-position server must do.
 * Started by the bench with --expose-gc; answers probe requests (port, heap, broadcast) over IPC.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ProbeReply, ProbeRequest } from '../lib/probe-protocol';

const httpServer = createServer();
const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: 100 * 1024 });
const sockets = new Set<WebSocket>();
wss.on('connection', (ws) => {
  sockets.add(ws);
  ws.on('close', () => sockets.delete(ws));
  ws.on('error', () => undefined);
});
const listening = new Promise<void>((resolve) => httpServer.listen(0, resolve));

function broadcast(size: number): void {
  // Same shape as graphql-ws's message; the padding brings it to the measured size.
  const base = JSON.stringify({ id: '1', type: 'next', payload: { data: { queueStatus: { concertId: '1', state: 'WAITING', position: 100000, pad: '' } } } }).length;
  const pad = 'x'.repeat(Math.max(0, size - base));
  let position = 0;
  for (const ws of sockets) {
    position++;
    ws.send(JSON.stringify({ id: '1', type: 'next', payload: { data: { queueStatus: { concertId: '1', state: 'WAITING', position, pad } } } }));
  }
}

async function handle(request: ProbeRequest): Promise<Omit<ProbeReply, 'id'>> {
  switch (request.type) {
    case 'port':
      await listening;
      return { port: (httpServer.address() as { port: number }).port };
    case 'heap': {
      if (!global.gc) throw new Error('start with --expose-gc');
      for (let i = 0; i < 3; i++) global.gc();
      const memory = process.memoryUsage();
      return { heapUsed: memory.heapUsed, rss: memory.rss, external: memory.external };
    }
    case 'broadcast': {
      const startedAt = performance.timeOrigin + performance.now();
      broadcast(request.size);
      return { startedAt, finishedAt: performance.timeOrigin + performance.now() };
    }
    default:
      throw new Error(`raw-server does not do ${request.type}`);
  }
}

process.on('message', (request: ProbeRequest) => {
  handle(request).then(
    (reply) => process.send?.({ id: request.id, ...reply }),
    (error: unknown) => process.send?.({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

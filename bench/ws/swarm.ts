/**
 * A subscriber process for the position-push scenario: opens many WebSockets and stamps, per
 * socket, the wall-clock arrival of the first message after its set is armed. It keeps two sets
 * open at once, graphql-ws subscriptions to the server and plain sockets to the raw baseline, so
 * the bench can alternate tick and broadcast run by run. The bench starts several of these: the
 * per-process fd limit, and keeping the receiving work off the bench's own event loop, both say so.
 *
 * gql sockets speak graphql-transport-ws by hand (connection_init → connection_ack → subscribe →
 * next…): a few lines, far lighter per socket than a client library, so the clients disturb the
 * measurement as little as possible.
 */
import WebSocket from 'ws';
import { mapPool, wallMs } from '../lib/util';
import type { SocketSet, SwarmCommand, SwarmEvent } from './swarm-protocol';

type Connect = Extract<SwarmCommand, { type: 'connect' }>;

/** Sockets by their index in the connect command (a failed one stays undefined, so indexes keep matching). */
const sets: Record<SocketSet, (WebSocket | undefined)[]> = { gql: [], raw: [] };
let armed: SocketSet | undefined;
let times = new Float64Array(0);
let received = 0;
let unexpected = 0;
let armedSample: string | undefined;
let initialSample: string | undefined;
let onAllReceived: (() => void) | undefined;

const send = (event: SwarmEvent) => process.send?.(event);

function connectOne(command: Connect, index: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const gql = command.set === 'gql';
    const ws = new WebSocket(command.url, gql ? 'graphql-transport-ws' : undefined, { perMessageDeflate: false });
    // 0: waiting for connection_ack, 1: waiting for the initial status, 2: live.
    let phase = gql ? 0 : 2;
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(new Error(why));
    };
    ws.on('open', () => {
      if (gql) ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${command.tokens[index]}` } }));
      else {
        settled = true;
        resolve(ws);
      }
    });
    ws.on('message', (data: Buffer) => {
      if (phase === 2) {
        if (armed !== command.set || (times[index] as number) >= 0) return;
        times[index] = wallMs();
        received++;
        if (data.indexOf('"type":"next"') < 0) unexpected++;
        armedSample ??= data.toString();
        if (received === times.length) onAllReceived?.();
        return;
      }
      const message = JSON.parse(data.toString()) as { type: string; payload?: unknown };
      if (phase === 0 && message.type === 'connection_ack') {
        phase = 1;
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: command.query, variables: command.variables } }));
      } else if (phase === 1 && message.type === 'next') {
        phase = 2;
        settled = true;
        if (index === 0) initialSample = data.toString();
        resolve(ws);
      } else if (message.type !== 'ping' && message.type !== 'pong') {
        fail(`unexpected ${message.type}: ${JSON.stringify(message.payload)}`);
      }
    });
    ws.on('error', (error) => fail(error.message));
    ws.on('close', (code, reason) => fail(`closed ${code} ${reason.toString()}`));
  });
}

async function connect(command: Connect): Promise<void> {
  const started = wallMs();
  let failed = 0;
  let firstError: string | undefined;
  initialSample = undefined;
  const opened = await mapPool(
    Array.from({ length: command.count }, (_, i) => i),
    command.concurrency,
    async (i) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await connectOne(command, i);
        } catch (error) {
          if (attempt < 3) {
            await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
            continue;
          }
          failed++;
          firstError ??= error instanceof Error ? error.message : String(error);
          return undefined;
        }
      }
    },
  );
  sets[command.set] = opened;
  send({ type: 'connected', open: opened.length - failed, failed, firstError, sample: initialSample, ms: wallMs() - started });
}

function collect(timeoutMs: number): void {
  const reply = () => {
    clearTimeout(timer);
    onAllReceived = undefined;
    armed = undefined;
    send({ type: 'times', times: Array.from(times), received, unexpected, sample: armedSample });
  };
  const timer = setTimeout(reply, timeoutMs);
  if (received === times.length) reply();
  else onAllReceived = reply;
}

async function closeAll(): Promise<void> {
  const all = [...sets.gql, ...sets.raw].filter((ws): ws is WebSocket => ws !== undefined);
  await Promise.all(
    all.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.removeAllListeners('close');
          ws.removeAllListeners('error');
          ws.on('error', () => undefined);
          ws.once('close', () => resolve());
          ws.close();
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 5000).unref();
        }),
    ),
  );
  sets.gql = [];
  sets.raw = [];
  send({ type: 'closed' });
}

process.on('message', (command: SwarmCommand) => {
  switch (command.type) {
    case 'connect':
      void connect(command);
      break;
    case 'arm':
      times = new Float64Array(sets[command.set].length).fill(-1);
      received = 0;
      unexpected = 0;
      armedSample = undefined;
      armed = command.set;
      send({ type: 'armed' });
      break;
    case 'collect':
      collect(command.timeoutMs);
      break;
    case 'close':
      void closeAll();
      break;
  }
});
process.on('disconnect', () => process.exit(0));

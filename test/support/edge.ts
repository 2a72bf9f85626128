import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import pino from 'pino';
import WebSocket from 'ws';
import type { GqlResponse } from '../../support/graphql-client';
import type { Logger } from '../../src/logger';
import type { TestServer } from './harness';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  retryAfter: string | null;
  cacheControl: string | null;
  body: GqlResponse<T>;
}

/** One GraphQL POST as a client behind a proxy would send it: its own token and X-Forwarded-For. */
export async function gql<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}, as: { token?: string; ip?: string } = {}): Promise<Answer<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(as.token ? { authorization: `Bearer ${as.token}` } : {}), ...(as.ip ? { 'x-forwarded-for': as.ip } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), cacheControl: response.headers.get('cache-control'), body: (await response.json()) as GqlResponse<T> };
}

export const codeOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;

/** A graphql-ws client whose upgrade request carries X-Forwarded-For (the address the per-IP limits count). */
export function wsClientFrom(wsUrl: string, ip: string, token?: string): Client {
  class ProxiedWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: { 'x-forwarded-for': ip } });
    }
  }
  return createClient({ url: wsUrl, webSocketImpl: ProxiedWebSocket, connectionParams: token ? { authorization: `Bearer ${token}` } : {}, retryAttempts: 0, lazy: true });
}

/** A bare graphql-ws socket from `ip` (X-Forwarded-For): resolves with it once acknowledged, or with its close code. */
export function openBareSocket(wsUrl: string, ip: string, authorization?: string): Promise<{ socket: WebSocket } | { code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { headers: { 'x-forwarded-for': ip } });
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: authorization ? { authorization } : {} })));
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') resolve({ socket });
    });
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) }));
    socket.once('error', reject);
  });
}

/** A fan made straight through the service (setup: it costs no request, so it counts against no limit). */
export async function fanOf(server: TestServer, password = 'correct-horse'): Promise<{ id: string; token: string; email: string; password: string }> {
  const email = `fan-${randomUUID()}@example.test`;
  const { token, user } = await server.app.services.accounts.signUp(email, password, 'test-setup');
  return { id: String(user.id), token, email, password };
}

let addresses = 0;
/** A fresh client address for each caller, so tests in one file do not share per-IP counts. */
export const freshIp = () => `10.${(addresses >> 16) & 255}.${(addresses >> 8) & 255}.${addresses++ & 255}`;

/** A logger that keeps what it writes (warn and above), so a test can see that nothing was logged as an error. */
export function capturingLogger(): { logger: Logger; lines: () => { level: number; msg?: string; err?: unknown }[] } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  const logger: Logger = pino({ level: 'warn', base: undefined }, stream);
  return { logger, lines: () => written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg?: string }) };
}

/** pino's numeric level for error. */
export const ERROR_LEVEL = 50;

/** Every code contract/errors.md names (a row may name several): the only codes an answer may carry. */
export const CONTRACT_CODES: ReadonlySet<string> = new Set(
  [...readFileSync(join(__dirname, '../../contract/errors.md'), 'utf8').matchAll(/^\| ((?:`[A-Z_]+`(?:, )?)+) \|/gm)].flatMap((row) => [...(row[1] ?? '').matchAll(/`([A-Z_]+)`/g)].map((code) => code[1] as string)),
);

import { Agent, request as httpRequest } from 'node:http';
import autocannon from 'autocannon';
import type { GqlResponse } from '../../support/graphql-client';
import { percentile, wallMs } from './util';

export interface LoadSpec {
  url: string;
  connections: number;
  /** Seconds (closed loop for this long) … */
  durationSec?: number;
  /** … or exactly this many requests. */
  amount?: number;
  /** The JSON body of request number i. */
  body: (i: number) => string;
  /** The bearer token of request number i, if any. */
  token?: (i: number) => string;
  /** Sees every response (i is the request number whose response it is). */
  onResponse?: (i: number, status: number, body: string) => void;
  /** Asks for gzip, as a browser does (the body onResponse sees is then the compressed bytes). */
  acceptGzip?: boolean;
}

export interface LoadResult {
  responses: number;
  /** Responses per second between the first request and the last response (autocannon's own duration is rounded to its 1 s sampling). */
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** Connection errors and timeouts. */
  socketErrors: number;
  non2xx: number;
}

/** A closed-loop HTTP load run with autocannon's programmatic API; every request can carry its own token and body. */
export async function load(spec: LoadSpec): Promise<LoadResult> {
  let next = 0;
  let first = 0;
  let last = 0;
  let responses = 0;
  type Context = { i?: number; sentAt?: number };
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    ...(spec.amount ? { amount: spec.amount } : { duration: spec.durationSec ?? 5 }),
    method: 'POST',
    timeout: 20,
    requests: [
      {
        setupRequest: (request, context) => {
          const i = next++;
          const ctx = context as Context;
          ctx.i = i;
          if (first === 0) first = wallMs();
          const token = spec.token?.(i);
          return {
            ...request,
            method: 'POST',
            path: '/graphql',
            headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(spec.acceptGzip ? { 'accept-encoding': 'gzip' } : {}) },
            body: spec.body(i),
          };
        },
        onResponse: (status, body, context) => {
          last = wallMs();
          responses++;
          spec.onResponse?.((context as Context).i ?? -1, status, body);
        },
      },
    ],
  });
  const seconds = (last - first) / 1000;
  return {
    responses,
    rps: seconds > 0 ? responses / seconds : NaN,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    socketErrors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** `{ __typename }`: the trivial query every HTTP scenario is compared with (same server, same connections). */
export const TRIVIAL = JSON.stringify({ query: '{ __typename }' });

/** Counts GraphQL errors by code in responses (a load run whose answers are errors measures nothing). */
export class ErrorTally {
  readonly codes = new Map<string, number>();
  ok = 0;

  /** Counts one response; returns its parsed body (typed as the caller expects), if it parses. */
  see<T = unknown>(status: number, body: string): GqlResponse<T> | undefined {
    let parsed: GqlResponse<T> | undefined;
    try {
      parsed = JSON.parse(body) as GqlResponse<T>;
    } catch {
      parsed = undefined;
    }
    const code = status !== 200 ? `HTTP_${status}` : !parsed ? 'UNPARSABLE' : parsed.errors?.length ? (parsed.errors[0]?.extensions?.code ?? 'UNKNOWN') : undefined;
    if (code) this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    else this.ok++;
    return parsed;
  }

  count(code: string): number {
    return this.codes.get(code) ?? 0;
  }

  get errors(): number {
    let total = 0;
    for (const n of this.codes.values()) total += n;
    return total;
  }

  summary(): string {
    return [`${this.ok} ok`, ...[...this.codes].map(([code, n]) => `${n} ${code}`)].join(', ');
  }
}

interface PacedSpec {
  url: string;
  connections: number;
  /** Requests per second offered, evenly spaced, whatever the answers' pace (open loop). */
  rate: number;
  durationSec: number;
  body: (i: number) => string;
  token?: (i: number) => string;
  onResponse?: (i: number, status: number, body: string) => void;
}

interface PacedResult {
  p50: number;
  p99: number;
  max: number;
  failed: number;
}

/**
 * Open-loop load at a fixed rate over at most `connections` keep-alive sockets. Latency counts from
 * when each request was due, not when a socket was free, so a stalled server cannot hide its queue
 * (no coordinated omission). autocannon's rate limit sends each second's quota in a burst at the
 * start of the second, which measures bursts; this spaces requests evenly.
 */
export async function paced(spec: PacedSpec): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const target = new URL(spec.url);
  const total = Math.round(spec.rate * spec.durationSec);
  const latencies: number[] = [];
  let failed = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  const send = (i: number, due: number) =>
    new Promise<void>((resolve) => {
      const token = spec.token?.(i);
      const request = httpRequest(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            latencies.push(performance.now() - due);
            spec.onResponse?.(i, response.statusCode ?? 0, Buffer.concat(chunks).toString());
            resolve();
          });
        },
      );
      request.on('error', () => {
        failed++;
        resolve();
      });
      request.end(spec.body(i));
    });
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / spec.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(send(i, due));
  }
  await Promise.all(inFlight);
  agent.destroy();
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100), failed };
}

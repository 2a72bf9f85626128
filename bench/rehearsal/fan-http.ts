/**
 * GraphQL over HTTP for the fans of one process: `node:http` through one keep-alive pool per
 * process, as a reverse proxy in front of the replicas would hold it. Each request still carries its
 * fan's token and address (X-Forwarded-For, honoured with TRUST_PROXY), so the service sees 20,000
 * different clients; the pool only stops a burst of 2,000 arrivals a second from opening 2,000 TCP
 * connections a second (with fetch's unbounded pool, connects timed out in the burst).
 */
import { Agent, request } from 'node:http';
import type { GqlResponse } from '../../support/graphql-client';

/** Enough parallel requests per replica to keep it busy; more only queue in its accept backlog. */
const agent = new Agent({ keepAlive: true, maxSockets: 96 });

/** A request the service did not answer within this long counts as a NETWORK:TIMEOUT error. */
const TIMEOUT_MS = 30_000;

export interface HttpAnswer<T> {
  data?: T;
  /** '' when served; the first error's code; or NETWORK:… when no answer came. */
  code: string;
}

export function postGraphql<T>(url: URL, token: string, ip: string, query: string, variables: Record<string, unknown>): Promise<HttpAnswer<T>> {
  return post(url, token, ip, JSON.stringify({ query, variables }), true);
}

function post<T>(url: URL, token: string, ip: string, body: string, mayRetry: boolean): Promise<HttpAnswer<T>> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        timeout: TIMEOUT_MS,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}`, 'x-forwarded-for': ip },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString()) as GqlResponse<T>;
            if (parsed.errors?.length) resolve({ code: parsed.errors[0]?.extensions?.code ?? 'UNKNOWN' });
            else resolve({ data: parsed.data ?? undefined, code: '' });
          } catch {
            resolve({ code: `HTTP ${res.statusCode}` });
          }
        });
        res.on('error', () => resolve({ code: 'NETWORK:RESPONSE' }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('TIMEOUT')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server closed an idle pooled connection just as this request went out on it (its
      // keep-alive timeout): nothing was processed, and a browser would retry too (Node's advice).
      if (mayRetry && req.reusedSocket && error.code === 'ECONNRESET') post<T>(url, token, ip, body, false).then(resolve, () => resolve({ code: 'NETWORK:ECONNRESET' }));
      else resolve({ code: `NETWORK:${error.code ?? error.message.slice(0, 40)}` });
    });
    req.end(body);
  });
}

/** Reconnect timing for the WebSocket and live feeds. Pure, unit-tested. */

import { isTransient, SOCKET_LIMIT_CLOSE, type Problem } from './errors';

/** Capped exponential backoff with jitter: ~1 s, 2 s, 4 s, 8 s, then about every 10 s, forever. */
export function retryDelayMs(retries: number, random: () => number = Math.random): number {
  const base = Math.min(10_000, 1000 * 2 ** Math.max(0, retries));
  return base + Math.floor(random() * 500);
}

/** How long to wait before trying a transient failure again: the backoff, or longer if the server said so (RATE_LIMITED). */
export function retryAfterFailureMs(retries: number, retryAfterSeconds?: number, random: () => number = Math.random): number {
  return Math.max(retryDelayMs(retries, random), (retryAfterSeconds ?? 0) * 1000);
}

/**
 * When a live feed that failed should be started again: after the backoff (or the server's
 * Retry-After) for a failure that says "not now", never for one that says "no" (UNAUTHENTICATED,
 * NOT_FOUND…), which retrying cannot mend.
 */
export function feedRetryMs(problem: Problem | undefined, retries: number, random: () => number = Math.random): number | undefined {
  if (!isTransient(problem?.code)) return undefined;
  return retryAfterFailureMs(retries, problem?.retryAfterSeconds, random);
}

/**
 * The server closes a socket with 4429 when it is over a limit: the account's open sockets, or, for a
 * socket whose token it did not take (expired while the socket was down), the address's token-less
 * ones. graphql-ws gives up on 4429; in the second case only a request over HTTP tells the page that
 * the session has ended (UNAUTHENTICATED, then the log-in form), so the page asks one.
 */
export const closeCallsForSessionCheck = (code: number | undefined): boolean => code === SOCKET_LIMIT_CLOSE;

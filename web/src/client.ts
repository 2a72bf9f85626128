import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { currentToken, setToken } from './session';
import { errorCode } from './logic/errors';
import { closeCallsForSessionCheck, retryDelayMs } from './logic/connection';
import { serverClock } from './logic/server-clock';
import { rereadMe } from './operations';

/** The WebSocket's state as the page shows it. */
export type SocketStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting';

export interface SocketState {
  status: SocketStatus;
  /** Counts reconnections: a view that may have missed events while the socket was down refetches when it moves. */
  reconnects: number;
}

/** A tiny observable value for React's useSyncExternalStore. */
export class Store<T> {
  private readonly listeners = new Set<() => void>();
  constructor(private value: T) {}
  get = (): T => this.value;
  set(value: T): void {
    this.value = value;
    for (const listener of this.listeners) listener();
  }
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

/**
 * Whether the server answers this page's requests: `unreachable` from a request that got no answer
 * (no network, the server down, no answer in time) until one is answered or the socket connects
 * again, which counts a recovery. The page then says it once, not beside every read that failed.
 */
export interface Reach {
  unreachable: boolean;
  recoveries: number;
}

export interface Api {
  client: Client;
  socket: Store<SocketState>;
  reach: Store<Reach>;
  dispose(): void;
}

const PING_EVERY_MS = 10_000;
/**
 * A request the server has not answered by then is given up as a network failure (NETWORK: a
 * payment stays unsettled and is retried with the same idempotency key). The server answers within
 * MYSQL_STATEMENT_TIMEOUT_MS and its Redis timeout; this covers a connection that went silent.
 */
const REQUEST_TIMEOUT_MS = 30_000;

/** How often the page asks whether the server is back while it does not answer (GET /healthz). */
const REACH_PROBE_MS = 3_000;

/**
 * Keeps `reach` (see Reach): a request answered by this service (a GraphQL answer is JSON, whatever
 * its status; a proxy's 502 page is not) or a socket connected marks it answering; a request that got
 * no answer marks it not, unless a request sent after it has been answered since (a stale timeout).
 * While it does not answer, it is asked every REACH_PROBE_MS, so the page's notice goes by itself.
 */
class ReachWatch {
  readonly reach = new Store<Reach>({ unreachable: false, recoveries: 0 });
  private lastAnsweredSentAt = 0;
  private probe: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly origin: string) {}

  answered(sentAt: number): void {
    this.lastAnsweredSentAt = Math.max(this.lastAnsweredSentAt, sentAt);
    const { unreachable, recoveries } = this.reach.get();
    if (!unreachable) return;
    clearInterval(this.probe);
    this.reach.set({ unreachable: false, recoveries: recoveries + 1 });
  }

  unanswered(sentAt: number): void {
    if (sentAt < this.lastAnsweredSentAt || this.reach.get().unreachable) return;
    this.reach.set({ ...this.reach.get(), unreachable: true });
    this.probe = setInterval(() => this.ask(), REACH_PROBE_MS);
  }

  /** The browser says the network is back: asked at once, not at the next probe. */
  networkBack(): void {
    if (this.reach.get().unreachable) this.ask();
  }

  private ask(): void {
    const probeSentAt = Date.now();
    fetch(`${this.origin}/healthz`, { cache: 'no-store' }).then(
      (response) => response.ok && this.answered(probeSentAt),
      () => undefined,
    );
  }

  stop(): void {
    clearInterval(this.probe);
  }
}

/**
 * The socket's wait before its next try: the backoff, cut short when the browser says the network is
 * back (after a long cut the backoff is up to 10 s, which the fan would spend told the page is
 * reconnecting, their turn's time running, though the network came back at once).
 */
function untilRetry(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener('online', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener('online', done);
  });
}

/** Whether a response comes from this service (its GraphQL answers are JSON), not from a proxy in front that could not reach it. */
const fromService = (response: Response) => /json/.test(response.headers.get('content-type') ?? '');

/** fetch, aborted after `ms` as well as when urql aborts it (an operation torn down); whether it was answered goes to `watch`. */
function fetchWithin(ms: number, watch: ReachWatch): typeof fetch {
  return (input, init) => {
    // By hand rather than AbortSignal.any/timeout, which Safari before 17.4 lacks.
    const controller = new AbortController();
    // The timer stays until it fires: urql reads the body after fetch resolves, and a body that stalls
    // must be given up too (aborting a request that completed does nothing).
    setTimeout(() => controller.abort(new DOMException('No answer in time', 'TimeoutError')), ms);
    const outer = init?.signal;
    const passOn = () => controller.abort(outer?.reason);
    if (outer?.aborted) passOn();
    else outer?.addEventListener('abort', passOn, { once: true });
    const sentAt = Date.now();
    return fetch(input, { ...init, signal: controller.signal }).then(
      (response) => {
        serverClock.observe(response.headers.get('date'), sentAt, Date.now());
        if (fromService(response)) watch.answered(sentAt);
        else watch.unanswered(sentAt);
        return response;
      },
      (error: unknown) => {
        // Torn down by the page is no news of the server.
        if (!outer?.aborted) watch.unanswered(sentAt);
        throw error;
      },
    );
  };
}
const PONG_WITHIN_MS = 5_000;

function authorization(): Record<string, string> {
  const token = currentToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * One urql client for the page: queries and mutations over HTTP (fetch), subscriptions over one
 * graphql-ws socket on the same origin. The token is read on every request and on every (re)connect.
 * The socket retries forever with a capped backoff, so a dropped connection comes back by itself, and
 * graphql-ws re-subscribes what was running (the waiting room sends the current status at once, so
 * the fan's place is shown again as soon as the socket is back).
 */
export function createApi(origin: string = window.location.origin): Api {
  const socket = new Store<SocketState>({ status: 'idle', reconnects: 0 });
  const watch = new ReachWatch(origin);
  let activeSocket: WebSocket | undefined;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;

  const ws: WsClient = createWsClient({
    url: `${origin.replace(/^http/, 'ws')}/graphql`,
    connectionParams: () => authorization(),
    lazy: true,
    lazyCloseTimeout: 3_000,
    retryAttempts: Number.MAX_SAFE_INTEGER,
    shouldRetry: () => true,
    retryWait: (retries) => untilRetry(retryDelayMs(retries)),
    keepAlive: PING_EVERY_MS,
    on: {
      connecting: (isRetry) => socket.set({ ...socket.get(), status: isRetry ? 'reconnecting' : 'connecting' }),
      connected: (raw, _payload, wasRetry) => {
        activeSocket = raw as WebSocket;
        const state = socket.get();
        socket.set({ status: 'connected', reconnects: state.reconnects + (wasRetry ? 1 : 0) });
        watch.answered(Date.now());
      },
      closed: (event) => {
        activeSocket = undefined;
        clearTimeout(pongTimer);
        // Through the client's exchanges, so an UNAUTHENTICATED answer logs the fan out (mapExchange below).
        if (currentToken() && closeCallsForSessionCheck((event as { code?: number }).code)) void rereadMe(client);
        // Lazy: the socket closes on purpose once nothing listens; otherwise graphql-ws is about to retry.
        if (socket.get().status !== 'idle') socket.set({ ...socket.get(), status: 'reconnecting' });
      },
      // A socket that died without a close frame (sleeping laptop, lost Wi-Fi) is found by a ping with no pong.
      ping: (received) => {
        if (received) return;
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => {
          if (activeSocket?.readyState === WebSocket.OPEN) activeSocket.close(4408, 'Pong timeout');
        }, PONG_WITHIN_MS);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
    },
  });

  // The browser knows the network is gone before any ping goes unanswered: drop the socket at once,
  // so the page says "reconnecting" and graphql-ws starts retrying (it re-subscribes once back).
  const onOffline = () => {
    if (activeSocket) ws.terminate();
  };
  window.addEventListener('offline', onOffline);
  const onOnline = () => watch.networkBack();
  window.addEventListener('online', onOnline);

  let operations = 0;
  const client = new Client({
    url: `${origin}/graphql`,
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ headers: authorization() }),
    fetch: fetchWithin(REQUEST_TIMEOUT_MS, watch),
    exchanges: [
      // A token the server no longer takes (expired, or the account is gone), on any page and any
      // operation, query or feed: back to the log-in form, with the reason.
      mapExchange({
        onError(error) {
          if (currentToken() && errorCode(error) === 'UNAUTHENTICATED') setToken(null, 'UNAUTHENTICATED');
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              operations += 1;
              // A feed started within lazyCloseTimeout of the last one's end reuses the socket still open,
              // and graphql-ws says nothing of it: without this the page would take the socket for down.
              if (operations === 1 && activeSocket?.readyState === WebSocket.OPEN && socket.get().status === 'idle') socket.set({ ...socket.get(), status: 'connected' });
              // Counted out once: when the page stops listening, or when the feed ends by itself (an
              // error ends it; a server of an earlier version completes it after SOLD_OUT), after which urql never unsubscribes. Counted
              // out late, the socket's lazy close would read as a lost connection: "Reconnecting…".
              let counted = true;
              const ended = () => {
                if (!counted) return;
                counted = false;
                operations -= 1;
                if (operations === 0) socket.set({ ...socket.get(), status: 'idle' });
              };
              const unsubscribe = ws.subscribe<Record<string, unknown>, Record<string, unknown>>(input, {
                next: (value) => sink.next(value),
                error: (error) => {
                  ended();
                  sink.error(error);
                },
                complete: () => {
                  ended();
                  sink.complete();
                },
              });
              return {
                unsubscribe: () => {
                  unsubscribe();
                  ended();
                },
              };
            },
          };
        },
      }),
    ],
  });

  return {
    client,
    socket,
    reach: watch.reach,
    dispose() {
      window.removeEventListener('offline', onOffline);
      window.removeEventListener('online', onOnline);
      watch.stop();
      socket.set({ ...socket.get(), status: 'idle' });
      void ws.dispose();
    },
  };
}

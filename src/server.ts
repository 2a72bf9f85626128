import { createServer, type Server } from 'node:http';
import { constants } from 'node:zlib';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import compression from 'compression';
import express from 'express';
import { GraphQLError, specifiedRules, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { connectionAuthorization } from './auth/tokens';
import { admitOperation, authenticate, createContext, createHttpContext, reconfirm, type Context, type Credentials, type HttpOperation } from './context';
import { AppError } from './errors';
import type { MessageBudget, SocketLease } from './limits';
import type { Logger } from './logger';
import type { Services } from './services';
import type { ErrorFormatter } from './schema/format-error';
import { guardPlugin } from './schema/guard-plugin';
import { projectedSubscribe } from './schema/projected-subscribe';
import { DocumentCache } from './schema/document-cache';
import { complexityError, limitRules, PARSE_OPTIONS, variablesError } from './schema/limits';
import { socketOperationError } from './schema/socket-operation';
import { guardSends } from './http/socket-writes';
import { clientAddress, corsFor, graphqlMethods, jsonBody, limitedAddress, notStored, requestErrors, securityHeaders, sharedClockDate, trustedProxies } from './http/edge';
import { playgroundRouter } from './http/playground';
import { webAppRouter } from './http/web-app';

export interface ServerParts {
  schema: GraphQLSchema;
  services: Services;
  formatError: ErrorFormatter;
  /** Extra routes (health, metrics) mounted before GraphQL. */
  routes: express.Router;
  logger: Logger;
}

/** What this server keeps per WebSocket. */
type SocketState = {
  clientIp?: string;
  /** The account's socket count, held while this socket is open. */
  lease?: SocketLease;
  /** The address this socket counts against while it is open without a valid token (AnonymousSockets). */
  anonymousFrom?: string;
  /** What the connection's token named when it opened (its connectionParams are not kept). */
  credentials?: Credentials;
};

/** Close code for a socket over the account's limit (graphql-ws leaves 4400-4499 to applications, like HTTP 4xx). */
const TOO_MANY_SOCKETS = 4429;
/**
 * GraphQL answers from this size on are gzipped for a client that accepts it: a seat map is about 80
 * bytes a seat (8 MB for a stadium's 100,000, seconds on a phone's connection), and a tenth of that
 * gzipped. Smaller answers, the line's and the hold's on the hot paths, are sent as they are.
 */
const COMPRESS_FROM_BYTES = 16 * 1024;
/**
 * zlib's fastest level, as nginx gzips by default: a 100,000-seat map (2.3 MB as seatMap) costs ~7 ms
 * of CPU and 15–20% more bytes than at the default level 6, which took ~20 ms for every fan who opened
 * it (the `seatMap` bench's gzipped step).
 */
const COMPRESS_LEVEL = constants.Z_BEST_SPEED;
/** How long a socket closed for flooding has to take its close frame before it is cut. */
const FLOODED_SOCKET_CUT_MS = 1000;
/** A socket that has not sent connection_init by then is closed (4408): a bare socket holds memory and a file. */
const CONNECTION_INIT_TIMEOUT_MS = 3000;

const asGraphQLError = (error: AppError) => new GraphQLError(error.message, { originalError: error });

export interface RunningServer {
  httpServer: Server;
  /** Stops accepting, closes websockets, lets in-flight requests finish. */
  close(): Promise<void>;
}

const PAYLOAD_LIMIT = '100kb';
/**
 * Shutdown budget (main.ts exits after 10 s): sockets get this long to answer the close frame before
 * they are cut (ws would wait 30 s for an unresponsive client), and, meanwhile, in-flight HTTP
 * requests get HTTP_DRAIN_MS before theirs are cut (a sign-up queued behind others' password hashes,
 * a statement waiting on a row lock), while the workers close beside them (App.stop); the connections
 * close in what is left.
 */
const SOCKET_CLOSE_GRACE_MS = 2000;
const HTTP_DRAIN_MS = 7000;
/**
 * Connections the kernel may queue for accept (capped by net.core.somaxconn). Node's default, 511,
 * overflows when an on-sale burst opens thousands of sockets while the event loop is busy for a
 * moment: the kernel then drops the SYNs, and each client retries only after 1, 3, 7, 15 s, which
 * made the first queueStatus take up to 15 s in the rehearsal (bench/rehearsal) and risked the
 * presence grace. Queued instead, a connection waits only as long as the loop is busy.
 */
const LISTEN_BACKLOG = 8192;
/**
 * How long a client may take to send a request: its headers, and all of it (bodies are at most
 * 100 KB). Node's defaults (60 s, 300 s, checked every 30 s) let a client that trickles bytes keep a
 * connection, and a file, for minutes: a few thousand such from one address starve everyone. What is
 * left of a slow client is closed (408) within REQUEST_CHECK_MS of its bound.
 */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const REQUEST_CHECK_MS = 2000;

/**
 * What the request asks to run: a POST's body, or a GET's query string read as Apollo reads it
 * (URLSearchParams, every key), not through Express's parser, which stops at 1,000 keys: a query put
 * after a thousand others would otherwise reach Apollo unseen by the checks made before it.
 */
function httpOperation(method: string, url: string, body: unknown): HttpOperation {
  if (method !== 'GET') return (body ?? {}) as HttpOperation;
  return { query: new URL(url, 'http://localhost').searchParams.get('query') ?? undefined };
}

/** A frame's size as ws hands it over (one buffer, or its fragments). */
const frameBytes = (data: RawData) => (Array.isArray(data) ? data.reduce((sum, part) => sum + part.byteLength, 0) : data.byteLength);

/** One HTTP server, one port: GraphQL over HTTP and graphql-ws on /graphql, plus health and playground. */
export async function startServer(parts: ServerParts, port: number): Promise<RunningServer> {
  const { schema, services, formatError } = parts;
  const app = express();
  app.disable('x-powered-by');
  const trust = trustedProxies(services.config.trustProxy);
  app.set('trust proxy', trust);
  const httpServer = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: REQUEST_CHECK_MS }, app);
  const documents = new DocumentCache(schema, [...specifiedRules, ...limitRules()]);

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: 100 * 1024 });
  // One listener for every socket, its budget beside it: a closure per socket cost ~0.3 KB of heap
  // per connected fan. A socket past its budget is read no more (the frames a flood has sent wait
  // unread in the kernel), told why, and cut a moment later: unread, its client's answer to the
  // close would not be seen, and ws would keep it open 30 s for it.
  const messageBudgets = new WeakMap<WebSocket, MessageBudget>();
  function spendMessageBudget(this: WebSocket, data: RawData): void {
    const budget = messageBudgets.get(this);
    if (!budget || services.limits.messagesPerSocket.spend(budget, frameBytes(data)) || this.readyState !== WebSocket.OPEN) return;
    this.pause();
    this.close(TOO_MANY_SOCKETS, 'Too many messages on this connection: slow down.');
    setTimeout((flooded: WebSocket) => flooded.terminate(), FLOODED_SOCKET_CUT_MS, this).unref();
  }
  // Sockets still opening are counted from the upgrade: registered before graphql-ws's own
  // listener, so it runs first.
  wsServer.on('connection', (socket, request) => {
    const address = limitedAddress(clientAddress(request, trust));
    // 1013 "try again later": clients retry it with backoff (a 44xx would be taken as final).
    if (!services.limits.openingSockets.admit(socket, address)) socket.close(1013, 'Too many connections opening from this network address at once: try again in a moment.');
    messageBudgets.set(socket, services.limits.messagesPerSocket.budget());
    socket.on('message', spendMessageBudget);
  });
  const wsCleanup = useServer<Record<string, unknown>, SocketState>(
    {
      schema,
      subscribe: projectedSubscribe,
      connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
      onConnect: async (ctx) => {
        services.limits.openingSockets.opened(ctx.extra.socket);
        ctx.extra.clientIp = limitedAddress(clientAddress(ctx.extra.request, trust));
        // graphql-ws keeps the HTTP upgrade request for the connection's whole life; past the address
        // we never read it (auth comes in connectionParams), and dropping it saves ~1 KB per connected fan.
        Reflect.deleteProperty(ctx.extra, 'request');
        // The token is checked once, here, and the socket keeps the session it names (each operation
        // confirms it still stands): the connection_init payload, token and all, would otherwise stay
        // for the connection's life, and so would a copy of each fan's token in the verifier's cache.
        const credentials = authenticate(services, connectionAuthorization(ctx.connectionParams), { remember: false });
        Reflect.deleteProperty(ctx, 'connectionParams');
        ctx.extra.credentials = credentials;
        const viewer = credentials instanceof AppError ? undefined : credentials?.viewer;
        if (!viewer) {
          // Everything it may subscribe to needs a token: of no use, so only a few per address.
          if (!services.limits.anonymousSockets.acquire(ctx.extra.clientIp)) {
            ctx.extra.socket.close(TOO_MANY_SOCKETS, 'Too many connections without a valid token from this network address: log in first.');
            return false;
          }
          ctx.extra.anonymousFrom = ctx.extra.clientIp;
          return true;
        }
        const lease = await services.limits.sockets.acquire(viewer.id);
        if (lease === 'refused') {
          ctx.extra.socket.close(TOO_MANY_SOCKETS, `At most ${services.limits.sockets.max} connections per account: close another one first.`);
          return false;
        }
        if (lease && ctx.extra.socket.readyState !== WebSocket.OPEN) {
          // Closed while the lease was being taken: onClose has run already.
          await services.limits.sockets.release(lease);
          return false;
        }
        ctx.extra.lease = lease;
        return true;
      },
      onClose: async (ctx) => {
        if (ctx.extra.anonymousFrom !== undefined) services.limits.anonymousSockets.release(ctx.extra.anonymousFrom);
        if (ctx.extra.lease) await services.limits.sockets.release(ctx.extra.lease);
      },
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws lists every operation of the connection in ctx.subscriptions (this one already)
        // until it ends, whether the client completed it, it ended by itself or failed.
        const overLimit = services.limits.operationsPerSocket.check(Object.keys(ctx.subscriptions).length);
        if (overLimit) return [asGraphQLError(overLimit)];
        // Counted before anything is parsed, as over HTTP: malformed documents count like the others.
        const contextValue: Context = createContext(services, reconfirm(services, ctx.extra.credentials), ctx.extra.clientIp ?? 'unknown');
        const refused = await admitOperation(contextValue);
        if (refused) return [asGraphQLError(refused)];
        const checked = documents.check(payload.query);
        if ('errors' in checked) return checked.errors;
        const { document } = checked;
        const tooBig = variablesError(payload.variables);
        if (tooBig) return [tooBig];
        const tooExpensive = complexityError(schema, document, payload.variables, payload.operationName);
        if (tooExpensive) return [tooExpensive];
        const unrunnable = socketOperationError(schema, document, payload.operationName, payload.variables);
        if (unrunnable) return [unrunnable];
        return { schema, document, variableValues: payload.variables, operationName: payload.operationName, contextValue };
      },
      onOperation: (_ctx, _id, _payload, args, result) => {
        const { sessionEndsAt: endsAt, sessionCredentialsAt: credentialsAt, viewer } = args.contextValue as Context;
        if (endsAt === undefined || credentialsAt === undefined || !viewer || !(Symbol.asyncIterator in result)) return undefined;
        return services.sessions.bind(result[Symbol.asyncIterator](), endsAt, viewer.id, credentialsAt);
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } : undefined),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e)),
    },
    wsServer,
  );
  // ws hands the HTTP server's errors to the WebSocket server too. graphql-ws would print the first
  // with its stack and close every socket, and a second, its one-off listener gone, would throw and
  // end the process. A port in use at start-up is said once, by the start-up's failure; a later one
  // (accepting failing for lack of file descriptors, say) is logged, and open sockets stay open.
  wsServer.removeAllListeners('error');
  wsServer.on('error', (error) => {
    if (httpServer.listening) parts.logger.error({ err: error }, 'the HTTP server reported an error');
  });
  // A malformed frame (unmasked, a bad opcode or UTF-8, over maxPayload) is an error on its socket, which
  // ws closes itself (1002, 1007, 1009). graphql-ws would print it to stderr as an "internal error" with
  // its stack, past the logger: fourteen lines for every bad frame anyone may send. It is the client's.
  wsServer.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (error) => parts.logger.debug({ err: error }, 'closed a WebSocket that sent an invalid frame'));
    // Likewise a push written as its client goes, and a client that stops reading (see guardSends).
    guardSends(socket, parts.logger);
  });

  const apollo = new ApolloServer<Context>({
    schema,
    formatError,
    validationRules: limitRules(),
    parseOptions: PARSE_OPTIONS,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // Apollo's own complaints (a request it could not process) go to our log, not to the console.
    logger: parts.logger,
    // Shutdown is ours (see main.ts), in a fixed order.
    stopOnTerminationSignals: false,
    // Apollo's default cache-control plugin hooks every resolved field (2-3% of a queueStatus request's
    // CPU) to reach the header notStored() sets anyway: the schema declares no cache hints.
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: HTTP_DRAIN_MS }), guardPlugin(schema), ApolloServerPluginCacheControlDisabled()],
  });
  await apollo.start();

  app.use(securityHeaders());
  app.use(sharedClockDate());
  // Before the playground, whose GET route would otherwise answer a preflight OPTIONS itself.
  app.use('/graphql', notStored(), corsFor(services.config.corsOrigins));
  app.use(parts.routes);
  app.use(playgroundRouter());
  app.use(webAppRouter());
  // Its own app, without ETags: answers are no-store, and hashing each body (a whole seat map's) for an
  // ETag no client revalidates was CPU for nothing. The app's other routes keep theirs (static assets).
  const graphqlApp = express();
  graphqlApp.disable('x-powered-by');
  graphqlApp.set('etag', false);
  graphqlApp.use(
    graphqlMethods(),
    compression({ threshold: COMPRESS_FROM_BYTES, level: COMPRESS_LEVEL }),
    ...jsonBody(PAYLOAD_LIMIT),
    expressMiddleware(apollo, {
      context: async ({ req }) =>
        createHttpContext(services, req.headers.authorization, limitedAddress(req.ip ?? 'unknown'), httpOperation(req.method, req.originalUrl, req.body)),
    }),
    // Here too, so that a refused body's answer goes without an ETag like the others.
    requestErrors(parts.logger, PAYLOAD_LIMIT),
  );
  app.use('/graphql', graphqlApp);
  app.use(requestErrors(parts.logger, PAYLOAD_LIMIT));

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ port, backlog: LISTEN_BACKLOG }, () => resolve());
  });

  return {
    httpServer,
    async close() {
      const closeSockets = async () => {
        const cut = setTimeout(() => {
          for (const socket of wsServer.clients) socket.terminate();
        }, SOCKET_CLOSE_GRACE_MS);
        try {
          await wsCleanup.dispose();
        } finally {
          clearTimeout(cut);
          services.limits.openingSockets.stop();
        }
      };
      await Promise.all([closeSockets(), apollo.stop()]);
    },
  };
}

import { createServer, type Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { specifiedRules, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { connectionAuthorization } from './auth/tokens';
import { SessionBound } from './auth/session-bound';
import { createContext, type Context } from './context';
import type { Services } from './services';
import type { ErrorFormatter } from './schema/format-error';
import { projectedSubscribe } from './schema/projected-subscribe';
import { DocumentCache } from './schema/document-cache';
import { complexityError, complexityPlugin, limitRules, socketLimitError } from './schema/limits';
import { playgroundRouter } from './http/playground';
import { webAppRouter } from './http/web-app';

export interface ServerParts {
  schema: GraphQLSchema;
  services: Services;
  formatError: ErrorFormatter;
  /** Extra routes (health, metrics) mounted before GraphQL. */
  routes: express.Router;
}

export interface RunningServer {
  httpServer: Server;
  /** Stops accepting, closes websockets, lets in-flight requests finish. */
  close(): Promise<void>;
}

const PAYLOAD_LIMIT = '100kb';
/**
 * Shutdown budget (main.ts exits after 10 s): sockets get this long to answer the close frame before
 * they are cut (ws would wait 30 s for an unresponsive client), and in-flight HTTP requests get
 * HTTP_DRAIN_MS before theirs are cut; workers and connections close in what is left.
 */
const SOCKET_CLOSE_GRACE_MS = 2000;
const HTTP_DRAIN_MS = 4000;

/** One HTTP server, one port: GraphQL over HTTP and graphql-ws on /graphql, plus health and playground. */
export async function startServer(parts: ServerParts, port: number): Promise<RunningServer> {
  const { schema, services, formatError } = parts;
  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);
  const documents = new DocumentCache(schema, [...specifiedRules, ...limitRules()]);

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: 100 * 1024 });
  const wsCleanup = useServer<Record<string, unknown>>(
    {
      schema,
      subscribe: projectedSubscribe,
      // graphql-ws keeps the HTTP upgrade request for the connection's whole life; we never read it
      // (auth comes in connectionParams), and dropping it saves ~1 KB per connected fan.
      onConnect: (ctx) => {
        Reflect.deleteProperty(ctx.extra, 'request');
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        // graphql-ws lists every operation of the connection in ctx.subscriptions (this one already)
        // until it ends, whether the client completed it, it ended by itself or failed.
        const overLimit = socketLimitError(Object.keys(ctx.subscriptions).length);
        if (overLimit) return [overLimit];
        const checked = documents.check(payload.query);
        if ('errors' in checked) return checked.errors;
        const { document } = checked;
        const tooExpensive = complexityError(schema, document, payload.variables, payload.operationName);
        if (tooExpensive) return [tooExpensive];
        const contextValue: Context = createContext(services, connectionAuthorization(ctx.connectionParams));
        return { schema, document, variableValues: payload.variables, operationName: payload.operationName, contextValue };
      },
      onOperation: (_ctx, _id, _payload, args, result) => {
        const endsAt = (args.contextValue as Context).sessionEndsAt;
        if (endsAt === undefined || !(Symbol.asyncIterator in result)) return undefined;
        return new SessionBound(result[Symbol.asyncIterator](), endsAt);
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } : undefined),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e)),
    },
    wsServer,
  );

  const apollo = new ApolloServer<Context>({
    schema,
    formatError,
    validationRules: limitRules(),
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (see main.ts), in a fixed order.
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: HTTP_DRAIN_MS }), complexityPlugin(schema)],
  });
  await apollo.start();

  app.use(parts.routes);
  app.use(playgroundRouter());
  app.use(webAppRouter());
  app.use(
    '/graphql',
    express.json({ limit: PAYLOAD_LIMIT }),
    expressMiddleware(apollo, { context: async ({ req }) => createContext(services, req.headers.authorization) }),
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, () => resolve());
  });

  return {
    httpServer,
    async close() {
      const cut = setTimeout(() => {
        for (const socket of wsServer.clients) socket.terminate();
      }, SOCKET_CLOSE_GRACE_MS);
      try {
        await wsCleanup.dispose();
      } finally {
        clearTimeout(cut);
      }
      await apollo.stop();
    },
  };
}

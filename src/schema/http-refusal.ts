import { HeaderMap } from '@apollo/server';
import { GraphQLError, Kind, parse, type DocumentNode } from 'graphql';
import type { RateLimited } from '../errors';
import { UNRUNNABLE_OPERATION } from './format-error';
import { PARSE_OPTIONS } from './limits';

/**
 * A refusal before the request reached Apollo's pipeline (see createHttpContext), where no plugin
 * hook runs: the status and headers travel with the error.
 */
export function refusedOverHttp(limited: RateLimited): GraphQLError {
  const headers = new HeaderMap([['retry-after', String(limited.retryAfterSeconds)]]);
  return new GraphQLError(limited.message, { originalError: limited, extensions: { http: { status: 429, headers } } });
}

/** Every subscription operation starts with this keyword; a document without it needs no parsing here. */
const MAY_SUBSCRIBE = /\bsubscription\b/;

/** Subscriptions need a stream, which GraphQL over HTTP (one JSON answer) cannot carry. */
export function subscriptionOverHttp(): GraphQLError {
  return new GraphQLError('Subscriptions are not served over HTTP: subscribe over the WebSocket at /graphql (graphql-transport-ws protocol, as graphql-ws speaks it).', {
    extensions: { code: UNRUNNABLE_OPERATION, http: { status: 400 } },
  });
}

/**
 * A document with a subscription in it, whichever operation it selects, is refused before Apollo
 * parses or validates it: validation covers the whole document, and for a subscription whose root
 * field a non-null variable skips graphql-js throws rather than answers (a 500). Never validated,
 * such a document never reaches Apollo's persisted-query cache either.
 */
export function refuseSubscriptionOverHttp(query: unknown): void {
  if (typeof query !== 'string' || !MAY_SUBSCRIBE.test(query)) return;
  let document: DocumentNode;
  try {
    document = parse(query, PARSE_OPTIONS);
  } catch {
    return; // Apollo answers GRAPHQL_PARSE_FAILED
  }
  if (document.definitions.some((definition) => definition.kind === Kind.OPERATION_DEFINITION && definition.operation === 'subscription')) throw subscriptionOverHttp();
}

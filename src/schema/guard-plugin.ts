import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import type { Context } from '../context';
import { RateLimited } from '../errors';
import { originalOf } from './format-error';
import { subscriptionOverHttp } from './http-refusal';
import { complexityError, variablesError } from './limits';

/**
 * HTTP operations, once resolved and before they run, in the order the WebSocket checks them too
 * (the rate limits and the refusal of subscriptions came before parsing, see createHttpContext):
 * a subscription by hash alone, oversized variables with BAD_USER_INPUT (before the cost walk coerces
 * them), a costly operation with GRAPHQL_VALIDATION_FAILED. Any RATE_LIMITED answer from a resolver
 * (a throttled logIn) goes out as 429 with Retry-After. No answer may be cached.
 */
export function guardPlugin(schema: GraphQLSchema): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request, document }) {
          // Refused before parsing (createHttpContext) whenever the text came with the request; this
          // is for a document sent by its persisted-query hash alone.
          if (operation?.operation === 'subscription') throw subscriptionOverHttp();
          const tooBig = variablesError(request.variables);
          if (tooBig) throw tooBig;
          const tooExpensive = complexityError(schema, document, request.variables, request.operationName);
          if (tooExpensive) throw tooExpensive;
        },
        async willSendResponse({ response, errors }) {
          // Apollo marks its PERSISTED_QUERY_NOT_FOUND "private, no-cache, must-revalidate", over the
          // no-store every /graphql answer carries (notStored): no answer of it may be kept.
          response.http.headers.set('cache-control', 'no-store');
          const waits = (errors ?? []).map(originalOf).flatMap((error) => (error instanceof RateLimited ? [error.retryAfterSeconds] : []));
          if (waits.length === 0) return;
          response.http.status = 429;
          response.http.headers.set('retry-after', String(Math.max(...waits)));
        },
      };
    },
  };
}

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
 * them), a costly operation with GRAPHQL_VALIDATION_FAILED. A RATE_LIMITED answer from a resolver
 * (a throttled logIn, a seat map past its account's budget) goes out as 429 with Retry-After, unless
 * a mutation had run before it. No answer may be cached.
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
        async willSendResponse({ response, errors, operation }) {
          // Apollo marks its PERSISTED_QUERY_NOT_FOUND "private, no-cache, must-revalidate", over the
          // no-store every /graphql answer carries (notStored): no answer of it may be kept.
          response.http.headers.set('cache-control', 'no-store');
          const refusals = (errors ?? []).flatMap((error) => {
            const original = originalOf(error);
            return original instanceof RateLimited ? [{ depth: error.path?.length ?? 1, wait: original.retryAfterSeconds }] : [];
          });
          if (refusals.length === 0) return;
          // 429 says nothing was changed: not so for a mutation refused only within its answer (a seat
          // map asked beneath a hold), which had run. That answer goes out as any partial one.
          if (operation?.operation === 'mutation' && refusals.some((refusal) => refusal.depth > 1)) return;
          const waits = refusals.map((refusal) => refusal.wait);
          response.http.status = 429;
          response.http.headers.set('retry-after', String(Math.max(...waits)));
        },
      };
    },
  };
}

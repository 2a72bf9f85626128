import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { RateLimited } from '../errors';

/**
 * A refusal before the request reached Apollo's pipeline (see createHttpContext), where no plugin
 * hook runs: the status and headers travel with the error.
 */
export function refusedOverHttp(limited: RateLimited): GraphQLError {
  const headers = new HeaderMap([
    ['retry-after', String(limited.retryAfterSeconds)],
    ['cache-control', 'no-store'],
  ]);
  return new GraphQLError(limited.message, { originalError: limited, extensions: { http: { status: 429, headers } } });
}

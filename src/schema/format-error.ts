import { GraphQLError, Kind, type GraphQLFormattedError } from 'graphql';
import { AppError, isUnanswered, isUnavailable, RateLimited } from '../errors';
import type { Logger } from '../logger';

/**
 * errors.md's codes for a request that is not one usable GraphQL operation. Every failure a client
 * sees carries one of errors.md's codes, so Apollo's own extra codes are answered as these: a request
 * that cannot be read as one operation (not JSON, a batch, no query, a wrong method, too large:
 * Apollo's BAD_REQUEST) is GRAPHQL_PARSE_FAILED; an operation read but not runnable as sent (no
 * operation by that name, a subscription over HTTP: Apollo's OPERATION_RESOLUTION_FAILURE) is
 * GRAPHQL_VALIDATION_FAILED. The HTTP status stays Apollo's (400, 405, 413, 415).
 */
export const UNREADABLE_REQUEST = 'GRAPHQL_PARSE_FAILED';
export const UNRUNNABLE_OPERATION = 'GRAPHQL_VALIDATION_FAILED';
const CONTRACT_CODE: Readonly<Record<string, string>> = { BAD_REQUEST: UNREADABLE_REQUEST, OPERATION_RESOLUTION_FAILURE: UNRUNNABLE_OPERATION };

/**
 * Codes graphql-js/Apollo attach themselves for malformed operations, passed through. Apollo's
 * PERSISTED_QUERY_NOT_FOUND stays as it is: automatic persisted-query clients resend the query text
 * on that code alone, and only they send a hash without a query.
 */
const PROTOCOL_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'PERSISTED_QUERY_NOT_FOUND']);

/** The syntax of a value written into an operation: an argument's, or a field's of an input object. */
const VALUE_KINDS: ReadonlySet<string> = new Set([Kind.INT, Kind.FLOAT, Kind.STRING, Kind.BOOLEAN, Kind.NULL, Kind.ENUM, Kind.LIST, Kind.OBJECT, Kind.OBJECT_FIELD]);

/**
 * Whether a validation error refuses a value written into the operation, which its type does not take
 * (ValuesOfCorrectTypeRule, the only rule that points at values: 1.5 for an Int, "tomorrow" for a
 * DateTime, an input field unknown or missing). That is BAD_USER_INPUT, as the same value sent as a
 * variable is (Apollo's), not a malformed operation: errors.md's "an argument out of range or
 * malformed". The HTTP status stays 400.
 */
function refusesWrittenValue(error: unknown): boolean {
  const node = error instanceof GraphQLError ? error.nodes?.[0] : undefined;
  return node !== undefined && VALUE_KINDS.has(node.kind);
}

/**
 * Apollo's own refusals of a request carry the HTTP status they answer with; a few carry no code
 * (an automatic persisted query whose hash does not match its text), which Apollo then fills in as
 * INTERNAL_SERVER_ERROR: the client's fault all the same.
 */
function isCodelessClientRefusal(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined) return false;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** The error a GraphQL error wraps (the AppError a resolver threw, for one). */
export function originalOf(error: unknown): unknown {
  let current = error;
  while (current && typeof current === 'object' && 'originalError' in current && current.originalError) current = current.originalError;
  return current;
}

/**
 * A Redis command given up on after its timeout was sent runs if Redis was only slow (frozen, a
 * stalled network): the change asked for may yet be made. These changes come out the same when asked
 * for again (a payment by its idempotency key; a hold that came too late is given back, HoldService),
 * and only their own failure (the error's path is the mutation itself) says so: a query, or a field
 * read after another change committed (chargePoints' holds), keeps the plain words.
 */
const SAME_WHEN_ASKED_AGAIN = new Set(['enterQueue', 'leaveQueue', 'holdSeat', 'releaseHold', 'pay', 'cancelReservation']);

const UNANSWERED_MESSAGE = 'The service did not answer in time: a change you asked for may or may not have been made. Asking again is safe: it is made once.';

/**
 * One error policy for HTTP and WebSocket: our AppErrors pass as they are; MySQL/Redis outages
 * become SERVICE_UNAVAILABLE; anything else is INTERNAL_SERVER_ERROR, logged, and with `hideDetails`
 * (every mode but development, as errors.md says) stripped of its message and stack so no SQL,
 * Redis key or trace reaches the client.
 */
export function createErrorFormatter(hideDetails: boolean, logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = originalOf(error);
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
    if (original instanceof RateLimited) return { ...base, message: original.message, extensions: { code: original.code, retryAfterSeconds: original.retryAfterSeconds } };
    if (original instanceof AppError) return { ...base, message: original.message, extensions: { code: original.code } };
    if (isUnavailable(original)) {
      logger.warn({ err: original }, 'dependency unavailable');
      const field = formatted.path?.length === 1 ? formatted.path[0] : undefined;
      const message = isUnanswered(original) && typeof field === 'string' && SAME_WHEN_ASKED_AGAIN.has(field) ? UNANSWERED_MESSAGE : 'The service is temporarily unavailable: please try again in a moment.';
      return { ...base, message, extensions: { code: 'SERVICE_UNAVAILABLE' } };
    }
    const given = isCodelessClientRefusal(error) ? 'BAD_REQUEST' : formatted.extensions?.code;
    const contractCode = typeof given === 'string' ? (CONTRACT_CODE[given] ?? given) : given;
    const code = contractCode === UNRUNNABLE_OPERATION && refusesWrittenValue(error) ? 'BAD_USER_INPUT' : contractCode;
    if (typeof code === 'string' && PROTOCOL_CODES.has(code)) {
      // `http` tells Apollo the status of an HTTP answer; it is no part of the error a client sees.
      if (hideDetails) return { ...base, extensions: { code } };
      const extensions: Record<string, unknown> = { ...formatted.extensions, code };
      delete extensions.http;
      return { ...formatted, extensions };
    }
    logger.error({ err: original }, 'unexpected error');
    if (!hideDetails) return { ...formatted, extensions: { ...formatted.extensions, code: 'INTERNAL_SERVER_ERROR' } };
    return { ...base, message: 'Something went wrong on our side.', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

export type ErrorFormatter = ReturnType<typeof createErrorFormatter>;

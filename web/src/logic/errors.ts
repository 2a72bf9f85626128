/** The API's error codes (extensions.code) in plain words for a fan. Pure, unit-tested. */

const MESSAGES: Record<string, string> = {
  UNAUTHENTICATED: 'Your session has ended. Please log in again.',
  INVALID_CREDENTIALS: 'That email and password do not match an account.',
  EMAIL_TAKEN: 'An account with that email already exists. Log in instead.',
  BAD_USER_INPUT: 'Something in the form is not right. Please check it and try again.',
  FORBIDDEN: 'You are not allowed to do that.',
  NOT_FOUND: 'That no longer exists.',
  NOT_ACTIVE: 'Your shopping time is over. Enter the waiting room again to choose seats.',
  SEAT_UNAVAILABLE: 'Someone else just took that seat. Please pick another one.',
  HOLD_LIMIT_REACHED: 'You are holding as many seats as allowed for this show. Pay or release one first.',
  HOLD_NOT_FOUND: 'That hold has expired or was released. Pick the seat again if it is still free.',
  INSUFFICIENT_POINTS: 'You do not have enough points. Charge points, then pay again.',
  IDEMPOTENCY_KEY_REUSED: 'This checkout changed while paying. Please press Pay again.',
  SERVICE_UNAVAILABLE: 'The service is busy or briefly unavailable. Please try again in a moment.',
  TOO_MANY_REQUESTS: 'Too many requests. Please wait a moment and try again.',
  RATE_LIMITED: 'Too many attempts: try again in a moment.',
  SOCKET_LIMIT: 'This account has too many live connections open (tabs or devices): close one; we will keep trying.',
  NOT_CANCELLABLE: 'This show has started: tickets can no longer be cancelled.',
  INTERNAL_SERVER_ERROR: 'Something went wrong on our side. Please try again.',
  // Nothing repeats a request by itself for this message: the fan is asked to.
  NETWORK: 'Cannot reach the server. Check your connection and try again.',
  SOLD_OUT: 'This concert is sold out.',
};

/** A request's "cannot reach the server" once the server answers again: what failed then is still to do. */
export const NETWORK_BACK_MESSAGE = 'The server could not be reached then; it answers again now: please try again.';

/**
 * What an error note says of a failure (`found`), or nothing: a request that got no answer at all
 * (NETWORK, unless `words` says it otherwise) is, for a read the page makes again by itself (`read`),
 * not said while the page says it once at its top (the server unreachable), nor once the server
 * answers again (`recovered`: "please try again" would ask the fan to do what they never did); for
 * anything else, once the server answers again, "what failed is still to do" (NETWORK_BACK_MESSAGE).
 */
export function noteText(found: Problem | undefined, { read, unreachable, recovered, words }: { read: boolean; unreachable: boolean; recovered: boolean; words?: Partial<Record<string, string>> }): string | undefined {
  if (!found) return undefined;
  const plainNetwork = found.code === 'NETWORK' && words?.NETWORK === undefined;
  if (plainNetwork && read && (unreachable || recovered)) return undefined;
  if (plainNetwork && recovered) return NETWORK_BACK_MESSAGE;
  return words?.[found.code] ?? errorMessage(found.code, found.retryAfterSeconds);
}

/** Said once, at the top of the page, while requests get no answer (see ui/errors.tsx, ErrorNote's `read`). */
export const UNREACHABLE_NOTICE = 'Cannot reach the server. This page keeps trying by itself; what it shows may be out of date.';

/** Codes that say "not now" rather than "no": the same request may well work in a moment. */
const TRANSIENT = new Set(['SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'SOCKET_LIMIT', 'TOO_MANY_REQUESTS', 'NETWORK', 'INTERNAL_SERVER_ERROR']);

/** Whether an operation that failed with this code is worth repeating by itself after a pause. */
export function isTransient(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT.has(code);
}

/** The words for NOT_FOUND where it means a ticket (also another fan's: the API does not say which). */
export const TICKET_NOT_FOUND = 'This ticket could not be found. It may belong to another account; reload your tickets.';

/** A rate limit's note, before the wait it gives (errorMessage, and the countdown in ui/errors.tsx). */
export const RATE_LIMITED_WAIT = 'Too many attempts: try again in';

/** A rate limit's note once its wait is over (the note stays: what was refused is still to do). */
export const RATE_LIMIT_OVER = 'Too many attempts then; you may try again now.';

/** A wait as a fan reads it: seconds up to a minute and a half, then whole minutes (rounded up). */
export function waitWords(seconds: number): string {
  const whole = Math.max(1, Math.ceil(seconds));
  return whole <= 90 ? `${whole} s` : `${Math.ceil(whole / 60)} minutes`;
}

/**
 * The fan-facing message for an error code; unknown codes get a generic sentence (never the raw
 * message). RATE_LIMITED says how long to wait when the error told us (extensions.retryAfterSeconds).
 */
export function errorMessage(code: string | undefined, retryAfterSeconds?: number): string {
  if (code === 'RATE_LIMITED' && retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0) {
    return `${RATE_LIMITED_WAIT} ${waitWords(retryAfterSeconds)}.`;
  }
  return (code && MESSAGES[code]) || 'Something went wrong. Please try again.';
}

/** The shape of an error as urql (CombinedError) or graphql-ws hands it over. */
export interface ErrorLike {
  networkError?: unknown;
  graphQLErrors?: readonly { message?: string; extensions?: Record<string, unknown> }[];
}

/** The server's WebSocket close code for a socket over a limit (errors.md's RATE_LIMITED, for sockets). */
export const SOCKET_LIMIT_CLOSE = 4429;

/**
 * The code of an operation's error: the first GraphQL error's extensions.code; for transport
 * failures NETWORK, except a socket the server closed with 4429 (SOCKET_LIMIT: too many sockets).
 */
export function errorCode(error: ErrorLike | undefined | null): string | undefined {
  if (!error) return undefined;
  const code = error.graphQLErrors?.find((e) => typeof e.extensions?.code === 'string')?.extensions?.code;
  if (typeof code === 'string') return code;
  if (error.networkError) return (error.networkError as { code?: unknown }).code === SOCKET_LIMIT_CLOSE ? 'SOCKET_LIMIT' : 'NETWORK';
  return error.graphQLErrors?.length ? 'INTERNAL_SERVER_ERROR' : undefined;
}

/** An error as a component keeps it: its code, for RATE_LIMITED how long to wait, for BAD_USER_INPUT the server's sentence. */
export interface Problem {
  code: string;
  retryAfterSeconds?: number;
  /**
   * The server's own words for BAD_USER_INPUT ("The password must have at least 8 characters."): to
   * show only about what the fan typed (the log-in form), for they may repeat the input, and elsewhere
   * the input can come from a link (an ID in the URL).
   */
  detail?: string;
}

/** The code, retry delay and (BAD_USER_INPUT) the server's sentence of an operation's error, or undefined when there is none. */
export function problemOf(error: ErrorLike | undefined | null): Problem | undefined {
  const code = errorCode(error);
  if (!code) return undefined;
  const first = error?.graphQLErrors?.find((e) => e.extensions?.code === code);
  const retry = first?.extensions?.retryAfterSeconds;
  if (typeof retry === 'number') return { code, retryAfterSeconds: retry };
  return code === 'BAD_USER_INPUT' && first?.message ? { code, detail: first.message } : { code };
}

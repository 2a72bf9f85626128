/** Every code a client can see; see contract/errors.md. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'EMAIL_TAKEN'
  | 'INVALID_CREDENTIALS'
  | 'NOT_ACTIVE'
  | 'SEAT_UNAVAILABLE'
  | 'HOLD_LIMIT_REACHED'
  | 'HOLD_NOT_FOUND'
  | 'INSUFFICIENT_POINTS'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'NOT_CANCELLABLE'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE';

/**
 * A failure the client caused or must know about; its message is safe to show. A plain Error: the
 * domain knows nothing of GraphQL, and the error formatter (src/schema/format-error.ts) turns it into
 * a GraphQL error with `extensions.code`, once, for HTTP and WebSocket alike.
 */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** RATE_LIMITED: the caller went over an abuse limit; nothing was done. */
export class RateLimited extends AppError {
  constructor(
    message: string,
    /** Whole seconds, at least 1: when the same call can succeed again. */
    readonly retryAfterSeconds: number,
  ) {
    super('RATE_LIMITED', message);
  }
}

export const badInput = (message: string) => new AppError('BAD_USER_INPUT', message);
export const notFound = (what: string) => new AppError('NOT_FOUND', `No ${what} with that ID.`);

/** A valid token whose user was deleted since it was signed. */
export const accountGone = () => new AppError('UNAUTHENTICATED', 'This account no longer exists.');

/** A valid token issued before the operator last changed its account's role or password. */
export const credentialsChanged = () => new AppError('UNAUTHENTICATED', 'This account’s password or role has changed since you logged in: log in again.');

/** The looked-up row, or NOT_FOUND naming what was missing. */
export async function orNotFound<T>(lookup: Promise<T | null>, what: string): Promise<T> {
  const found = await lookup;
  if (found === null) throw notFound(what);
  return found;
}

/** Whether the string has a UTF-16 surrogate not in a pair: not text, and written as U+FFFD in UTF-8, so unlike strings would store alike. */
export const hasLoneSurrogate = (text: string): boolean => /\p{Cs}/u.test(text);

/** Characters as a person counts them, and as MySQL's utf8mb4 columns do: code points, not UTF-16 units (an emoji is one). */
export const characterCount = (text: string): number => [...text].length;

/**
 * Parses a numeric ID argument. Digits that no row's ID can be (0, leading zeros, past 2^53) name
 * nothing: NOT_FOUND, as an unused ID does; anything else (a sign, a point, letters) is not an ID:
 * BAD_USER_INPUT.
 */
/** A client's value quoted in an answer: escaped, and cut at 40 characters, so an answer never echoes a long or unprintable input. */
const quoted = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);

export function parseId(value: string, what: string): number {
  if (/^[1-9]\d{0,15}$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  if (/^\d+$/.test(value)) throw notFound(what);
  throw badInput(`${quoted(value)} is not a valid ${what} ID.`);
}

/**
 * An ID a list starts after (a page's cursor): any whole number, none needing to exist (0: from the
 * first). Past any ID there can be, it is the largest (a few hundred digits would read as Infinity,
 * which SQL cannot take).
 */
export function parseAfterId(value: string, what: string): number {
  if (/^\d+$/.test(value)) return Math.min(Number(value), Number.MAX_SAFE_INTEGER);
  throw badInput(`${quoted(value)} is not a valid ${what} ID.`);
}

const UNAVAILABLE_PATTERNS = [
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EPIPE/,
  /PROTOCOL_CONNECTION_LOST|Connection lost|connect ETIMEDOUT/i,
  // mysql2, for a statement on a connection MySQL closed since the last one (a restart, a killed session).
  /Can't add new command when connection is in closed state|Can't write in closed state/i,
  /Timeout acquiring a connection/i,
  // A statement MySQL did not answer within MYSQL_STATEMENT_TIMEOUT_MS, or a row lock it waited for
  // as long (src/database/statement-timeout.ts).
  /PROTOCOL_SEQUENCE_TIMEOUT|Query inactivity timeout|ER_LOCK_WAIT_TIMEOUT|Lock wait timeout exceeded/,
  // The ORM's flush after its BEGIN was cut off so: knex reports only that the transaction has ended.
  /Transaction query already complete/,
  /Connection is closed|Stream isn't writeable|Reached the max retries per request|enableOfflineQueue|Command timed out/i,
  /ER_CON_COUNT_ERROR|Too many connections/i,
  // A Redis Cluster between a master's death and its replica's promotion (a MOVED that reaches us
  // came from a multi-command step the client could not redirect: the next attempt goes to the new owner).
  /CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes is available|^(MOVED|ASK) \d+ /i,
];

/** The error and the errors it wraps (cause, originalError), five at most. */
function* causeChain(error: unknown): Generator<Error> {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    yield current;
    current = (current as { cause?: unknown }).cause ?? (current as { originalError?: unknown }).originalError;
  }
}

/** A Redis command not sent: Redis has left the last ones unanswered (see SilentRedis). SERVICE_UNAVAILABLE. */
export class NotAsked extends Error {
  override readonly name = 'NotAsked';
}

/** Whether an error is a Redis command given up on after it was sent (it may still run). */
export function isUnanswered(error: unknown): boolean {
  for (const current of causeChain(error)) if (/Command timed out/i.test(current.message)) return true;
  return false;
}

/** Whether an error means MySQL or Redis could not be reached (→ SERVICE_UNAVAILABLE, never the raw text). */
export function isUnavailable(error: unknown): boolean {
  for (const current of causeChain(error)) {
    const { name, message } = current;
    const code = (current as { code?: unknown }).code;
    if (name === 'ConnectionException' || name === 'MaxRetriesPerRequestError' || name === 'NotAsked') return true;
    if (UNAVAILABLE_PATTERNS.some((pattern) => pattern.test(`${message} ${typeof code === 'string' ? code : ''}`))) return true;
  }
  return false;
}

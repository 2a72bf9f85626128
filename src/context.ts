import type { AuthChecker } from 'type-graphql';
import { bearerToken, type Session, type Viewer } from './auth/tokens';
import { accountGone, AppError, type RateLimited } from './errors';
import { refusal } from './limits';
import { refusedOverHttp, refuseSubscriptionOverHttp } from './schema/http-refusal';
import { RequestLoaders } from './schema/request-loaders';
import type { Services } from './services';

/** Per-request (or per-websocket) context. An invalid token is remembered, not thrown, so public operations still work. */
export interface Context {
  services: Services;
  loaders: RequestLoaders;
  viewer?: Viewer;
  /** When the caller's token expires (ms): subscriptions end then. */
  sessionEndsAt?: number;
  /** The credentials the caller's token was signed under (Session.credentialsAt): role-gated operations refuse older ones than the account's. */
  sessionCredentialsAt?: number;
  authError?: AppError;
  /** The client's address (from X-Forwarded-For only with TRUST_PROXY; IPv6 by its /64, see limitedAddress): what the per-IP limits count. */
  clientIp: string;
}

/** Who is calling: a verified session, why the token they sent was refused, or nobody (no token). */
export type Credentials = Session | AppError | undefined;

/** The caller an Authorization value names (see TokenVerifier.verify for `remember`). */
export function authenticate(services: Services, authorization: unknown, options?: { remember: boolean }): Credentials {
  return credentialsOf(() => {
    const token = bearerToken(authorization);
    return token ? services.tokens.verify(token, options) : undefined;
  });
}

/** Credentials taken earlier (a socket's, at connect), as they stand now: a session may have expired or its credentials changed since. */
export function reconfirm(services: Services, credentials: Credentials): Credentials {
  return credentials instanceof AppError || !credentials ? credentials : credentialsOf(() => services.tokens.confirm(credentials));
}

/** An invalid token is remembered, not thrown, so public operations still work. */
function credentialsOf(read: () => Session | undefined): Credentials {
  try {
    return read();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
}

export function createContext(services: Services, credentials: Credentials, clientIp: string): Context {
  const loaders = new RequestLoaders(services);
  if (credentials instanceof AppError) return { services, loaders, clientIp, authError: credentials };
  if (!credentials) return { services, loaders, clientIp };
  return { services, loaders, clientIp, viewer: credentials.viewer, sessionEndsAt: credentials.expiresAt, sessionCredentialsAt: credentials.credentialsAt };
}

/** What an HTTP request asks to run (the body of a POST, the query string of a GET). */
export interface HttpOperation {
  query?: unknown;
}

/**
 * An HTTP request's context, once it is counted against the per-account and per-IP limits: a caller
 * over one is refused here (429, Retry-After), before Apollo parses or validates anything, so a
 * stream of malformed or costly-to-validate documents is stopped like any other (counted after
 * validation, they were never refused). A document with a subscription is refused next (GRAPHQL_VALIDATION_FAILED:
 * it needs the WebSocket).
 */
export async function createHttpContext(services: Services, authorization: unknown, clientIp: string, operation: HttpOperation): Promise<Context> {
  const context = createContext(services, authenticate(services, authorization), clientIp);
  const refused = await admitOperation(context);
  if (refused) throw refusedOverHttp(refused);
  refuseSubscriptionOverHttp(operation.query);
  return context;
}

/**
 * Lets one operation (an HTTP request, a subscription start) in, before its document is parsed:
 * confirms that the token's account has not been deleted (ExistingAccounts): a deleted account's
 * token is as invalid as a forged one (UNAUTHENTICATED where a token is needed, counted by address
 * alone); then counts it against the caller's account and address (the refusal if over a limit).
 */
export async function admitOperation(context: Context): Promise<RateLimited | undefined> {
  confirmAccount(context);
  const verdict = await context.services.limits.operations.check({ userId: context.viewer?.id, ip: context.clientIp });
  return verdict.allowed ? undefined : refusal(verdict);
}

function confirmAccount(context: Context): void {
  if (!context.viewer || !context.services.existingAccounts.isGone(context.viewer.id)) return;
  delete context.viewer;
  delete context.sessionEndsAt;
  delete context.sessionCredentialsAt;
  context.authError = accountGone();
}

/** The authenticated caller, or UNAUTHENTICATED. */
export function requireViewer(context: Context): Viewer {
  if (context.viewer) return context.viewer;
  throw context.authError ?? new AppError('UNAUTHENTICATED', 'Log in first: send "Authorization: Bearer <token>".');
}

/**
 * type-graphql's @Authorized(): any caller with a valid token, and the listed roles if any. The token's
 * role claim lives until the token expires, so where a role is required the database decides: a demoted
 * or deleted account loses the role at once, and a token issued before the operator last set the
 * account's role or password is refused with UNAUTHENTICATED (one primary-key lookup, only on
 * role-gated operations).
 */
export const authChecker: AuthChecker<Context> = async ({ context }, roles) => {
  const viewer = requireViewer(context);
  if (roles.length === 0) return true;
  const role = await context.services.accounts.roleFor(viewer.id, context.sessionCredentialsAt ?? 0);
  if (!roles.includes(role)) throw new AppError('FORBIDDEN', 'Only an administrator may do this.');
  return true;
};

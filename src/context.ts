import type { AuthChecker } from 'type-graphql';
import type { Viewer } from './auth/tokens';
import { bearerToken } from './auth/tokens';
import { AppError } from './errors';
import { RequestLoaders } from './schema/request-loaders';
import type { Services } from './services';

/** Per-request (or per-websocket) context. An invalid token is remembered, not thrown, so public operations still work. */
export interface Context {
  services: Services;
  loaders: RequestLoaders;
  viewer?: Viewer;
  /** When the caller's token expires (ms): subscriptions end then. */
  sessionEndsAt?: number;
  authError?: AppError;
}

export function createContext(services: Services, authorization: unknown): Context {
  const loaders = new RequestLoaders(services);
  try {
    const token = bearerToken(authorization);
    if (!token) return { services, loaders };
    const session = services.tokens.verify(token);
    return { services, loaders, viewer: session.viewer, sessionEndsAt: session.expiresAt };
  } catch (error) {
    if (error instanceof AppError) return { services, loaders, authError: error };
    throw error;
  }
}

/** The authenticated caller, or UNAUTHENTICATED. */
export function requireViewer(context: Context): Viewer {
  if (context.viewer) return context.viewer;
  throw context.authError ?? new AppError('UNAUTHENTICATED', 'Log in first: send "Authorization: Bearer <token>".');
}

/**
 * type-graphql's @Authorized(): any caller with a valid token, and the listed roles if any. The token's
 * role claim lives until the token expires, so where a role is required the database decides: a demoted
 * or deleted account loses the role at once (one primary-key lookup, only on role-gated operations).
 */
export const authChecker: AuthChecker<Context> = async ({ context }, roles) => {
  const viewer = requireViewer(context);
  if (roles.length === 0) return true;
  const role = await context.services.accounts.currentRole(viewer.id);
  if (!role) throw new AppError('UNAUTHENTICATED', 'This account no longer exists.');
  if (!roles.includes(role)) throw new AppError('FORBIDDEN', 'Only an administrator may do this.');
  return true;
};

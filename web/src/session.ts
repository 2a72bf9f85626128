/** The fan's token, kept for this tab only (sessionStorage), with listeners for log-in and log-out. */
import { tabStorage } from './tab-storage';

const TOKEN_KEY = 'ct:token';
type Listener = (token: string | null) => void;
/** Why the last session ended, when it was not the fan's choice (an error code), for the log-in form. */
let endedBecause: string | undefined;
const listeners = new Set<Listener>();

/** With storage disabled, a map: the session lasts as long as the page. */
const store = tabStorage();

let memoryToken: string | null = store.getItem(TOKEN_KEY);

/** The current token; read on every request and on every WebSocket (re)connect. */
export function currentToken(): string | null {
  return memoryToken;
}

export function setToken(token: string | null, reason?: string): void {
  memoryToken = token;
  endedBecause = token ? undefined : reason;
  if (token) store.setItem(TOKEN_KEY, token);
  else store.removeItem(TOKEN_KEY);
  for (const listener of listeners) listener(token);
}

export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function sessionEndReason(): string | undefined {
  return endedBecause;
}

/**
 * The account the token is for (its JWT subject, the user's ID), so that this tab tells the account's
 * other tabs from another account's; null when logged out or when the token says no subject.
 */
export function currentUserId(): string | null {
  const sub = tokenClaims()?.sub;
  return typeof sub === 'string' ? sub : null;
}

/** When the session began and when it ends (epoch ms, on the server's clock), as its token says; null when it does not. */
export function sessionTimes(): { issuedAt: number; expiresAt: number } | null {
  const claims = tokenClaims();
  return typeof claims?.iat === 'number' && typeof claims.exp === 'number' ? { issuedAt: claims.iat * 1000, expiresAt: claims.exp * 1000 } : null;
}

/** The token's claims (its payload, read, not verified: the server does that); null when logged out or unreadable. */
function tokenClaims(): { sub?: unknown; iat?: unknown; exp?: unknown } | null {
  const payload = memoryToken?.split('.')[1];
  if (!payload) return null;
  try {
    return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown; iat?: unknown; exp?: unknown };
  } catch {
    return null;
  }
}

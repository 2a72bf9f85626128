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
  const payload = memoryToken?.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    return typeof claims.sub === 'string' ? claims.sub : null;
  } catch {
    return null;
  }
}

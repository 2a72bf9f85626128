import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AppError, credentialsChanged } from '../errors';
import { Role } from '../entities';
import { sharedNow } from '../redis/clock';

export interface Viewer {
  id: number;
  role: Role;
}

/** A verified token: who, under which credentials and until when it is valid (ms). */
export interface Session {
  viewer: Viewer;
  /**
   * When the account's credentials last changed as the token was signed (ms, 0 if never): the token
   * stands until they change again. (A token signed before this claim existed: when it was issued.)
   */
  credentialsAt: number;
  expiresAt: number;
}

const ALGORITHM = 'HS256';

const sessionExpired = () => new AppError('UNAUTHENTICATED', 'Your session has expired: log in again.');

/**
 * The HMAC key as a KeyObject, made once. Given a plain string, jsonwebtoken first tries to parse it
 * as a PEM public key on every call, and that failed attempt cost more than half of a request's CPU
 * (measured: bench enterQueue profile, 41% of busy time in createPublicKey).
 */
export function tokenKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

/**
 * Issued and expiring on the shared clock: a replica whose own clock is off signs what the others
 * accept. `credentialsAt` (ms, whole seconds) is when the account's credentials last changed as read
 * with the password hash the sign-in was checked against: the token carries it (`cv`), so a sign-in
 * checked against a password the operator has replaced meanwhile yields a token already refused,
 * whenever it is signed. (Comparing when the token was issued with the change let such a sign-in
 * through: one in flight at the change, or in the same second.)
 */
export function signToken(viewer: Viewer, credentialsAt: number, key: KeyObject, ttlSeconds: number): string {
  return jwt.sign({ role: viewer.role, cv: Math.floor(credentialsAt / 1000), iat: Math.floor(sharedNow() / 1000) }, key, { algorithm: ALGORITHM, subject: String(viewer.id), expiresIn: ttlSeconds });
}

/** Verifies signature, algorithm (only HS256: `alg: none` and others are refused) and expiry. */
function verifyToken(token: string, key: KeyObject): Session {
  let payload: jwt.JwtPayload | string;
  try {
    payload = jwt.verify(token, key, { algorithms: [ALGORITHM], clockTimestamp: Math.floor(sharedNow() / 1000) });
  } catch (error) {
    throw error instanceof jwt.TokenExpiredError ? sessionExpired() : new AppError('UNAUTHENTICATED', 'The token is invalid: log in again.');
  }
  const id = typeof payload === 'object' ? Number(payload.sub) : NaN;
  const role = typeof payload === 'object' ? payload.role : undefined;
  const exp = typeof payload === 'object' ? payload.exp : undefined;
  const iat = typeof payload === 'object' ? payload.iat : undefined;
  const cv: unknown = typeof payload === 'object' ? payload.cv : undefined;
  if (!Number.isSafeInteger(id) || id < 1 || (role !== Role.USER && role !== Role.ADMIN) || typeof exp !== 'number' || typeof iat !== 'number') {
    throw new AppError('UNAUTHENTICATED', 'The token is invalid: log in again.');
  }
  return { viewer: { id, role }, credentialsAt: (typeof cv === 'number' ? cv : iat) * 1000, expiresAt: exp * 1000 };
}

/**
 * Verified tokens, each kept until it expires: a fan who polls or re-subscribes with one token pays
 * the HMAC check once (it was ~9% of a queueStatus request's CPU). Only tokens that passed are kept;
 * bounded, oldest first out.
 */
export class TokenVerifier {
  private readonly verified = new Map<string, Session>();
  /** Accounts whose credentials the operator changed (ADMIN_EMAIL, ADMIN_PASSWORD), and when (ms). */
  private readonly changedAt = new Map<number, number>();

  constructor(
    private readonly key: KeyObject,
    private readonly capacity = 50_000,
  ) {}

  /**
   * Tokens of these accounts signed under older credentials are refused for everything: one
   * the operator took over (the address signed up by someone else before it became ADMIN_EMAIL) or
   * gave a new password (the old one leaked) must not go on acting as it, paying or cancelling with
   * it, until the token expires. Read from MySQL at start, after this process set up its admin, and
   * again every round of ExistingAccounts: another replica's change is seen here within that period.
   */
  refuseOlderCredentials(changes: ReadonlyMap<number, number>): void {
    for (const [userId, at] of changes) this.changedAt.set(userId, at);
  }

  /**
   * The token's session. `remember: false` verifies without keeping the token: a socket checks its
   * token once, at connect, and keeps the session itself (see `confirm`), so keeping the token too
   * would only hold a copy of it per connected fan.
   */
  verify(token: string, { remember = true } = {}): Session {
    const known = this.verified.get(token);
    return this.confirm(known && known.expiresAt > sharedNow() ? known : this.check(token, remember));
  }

  /** A session verified earlier, if it still stands: not expired, its credentials not changed since. */
  confirm(session: Session): Session {
    if (session.expiresAt <= sharedNow()) throw sessionExpired();
    if (session.credentialsAt < (this.changedAt.get(session.viewer.id) ?? 0)) throw credentialsChanged();
    return session;
  }

  private check(token: string, remember: boolean): Session {
    this.verified.delete(token);
    const checked = verifyToken(token, this.key);
    if (!remember) return checked;
    if (this.verified.size >= this.capacity) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, checked);
    return checked;
  }
}

/**
 * The Authorization value in graphql-ws connectionParams, as an HTTP header would carry it. Clients
 * differ: `authorization`, `Authorization` (as GraphiQL's Headers tab writes it) or either nested
 * under `headers`; the value is "Bearer <token>" or, as the contract words it ("the token goes in
 * connectionParams.authorization"), the token alone.
 */
export function connectionAuthorization(params: Readonly<Record<string, unknown>> | undefined): unknown {
  if (!params) return undefined;
  for (const scope of [params, params.headers]) {
    if (typeof scope !== 'object' || scope === null) continue;
    const key = Object.keys(scope).find((name) => name.toLowerCase() === 'authorization');
    if (!key) continue;
    const value = (scope as Record<string, unknown>)[key];
    return typeof value === 'string' && /^[^\s]+$/.test(value) && !/^bearer$/i.test(value) ? `Bearer ${value}` : value;
  }
  return undefined;
}

/** Reads "Bearer <token>" (from an HTTP header or graphql-ws connectionParams). */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match?.[1]) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>".');
  return match[1];
}

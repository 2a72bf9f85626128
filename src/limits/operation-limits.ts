import { RateLimited } from '../errors';
import { ALLOWED, type Verdict, type WindowCounter } from './counter';

/** Who is calling: the account if the token is valid, and the client IP (always). */
export interface Caller {
  userId?: number;
  ip: string;
}

/**
 * Operations per account and per client IP (RATE_LIMIT_PER_MINUTE, RATE_LIMIT_IP_PER_MINUTE), every
 * GraphQL operation over HTTP and every subscription start counting one. An operation either refuses
 * runs nowhere, so it counts for nobody. The account is asked first, and the address only for an
 * operation the account allows: a fan retrying through their account's refusals (blocked in memory
 * after the first, costing no Redis command) never touches the budget shared by every fan behind the
 * same NAT, however many retries run at once. One the address refuses gives the account its point back.
 */
export class OperationLimits {
  constructor(
    private readonly perAccount: WindowCounter,
    private readonly perIp: WindowCounter,
    /** Both counts are kept by one Redis server (not a Cluster, which spreads their keys over nodes). */
    private readonly oneServer: boolean,
  ) {}

  async check(caller: Caller): Promise<Verdict> {
    if (caller.userId === undefined) return this.perIp.consume(caller.ip);
    const account = String(caller.userId);
    // One server: both counted in one command, so a signed-in operation costs one round trip, as an
    // anonymous one. Unanswered, the operation is allowed (as WindowCounter.consume would).
    if (this.oneServer) return this.perAccount.consumeThen(account, this.perIp, caller.ip).catch(() => ALLOWED);
    let byAccount: Verdict;
    try {
      byAccount = await this.perAccount.consumeOrFail(account);
    } catch {
      // The account's node did not answer: the address's may well, and its limit still holds.
      byAccount = ALLOWED;
    }
    if (!byAccount.allowed) return byAccount;
    const byIp = await this.perIp.consume(caller.ip);
    if (!byIp.allowed) await this.perAccount.giveBack(account);
    return byIp;
  }
}

const MESSAGES = {
  account: 'Too many requests from this account: slow down and try again in',
  ip: 'Too many requests from this network address: slow down and try again in',
  login_email: 'Too many failed sign-ins for this email: try again in',
  login_ip: 'Too many failed sign-ins from this network address: try again in',
  sign_up_ip: 'Too many accounts made from this network address: try again in',
  sockets: 'Too many open connections for this account: close one, or try again in',
  socket_operations: 'This connection runs too many operations at once: complete one, or try again in',
  seat_maps: 'This account has read too many seat maps: follow the one shown (seatChanged) or try again in',
} as const;

/** The RATE_LIMITED error for a refusal. */
export function refusal(verdict: Extract<Verdict, { allowed: false }>): RateLimited {
  const seconds = verdict.retryAfterSeconds;
  return new RateLimited(`${MESSAGES[verdict.limit]} ${seconds} second${seconds === 1 ? '' : 's'}.`, seconds);
}

import { RateLimited } from '../errors';
import { ALLOWED, strictest, type Verdict, type WindowCounter } from './counter';

/** Who is calling: the account if the token is valid, and the client IP (always). */
export interface Caller {
  userId?: number;
  ip: string;
}

/**
 * Operations per account and per client IP (RATE_LIMIT_PER_MINUTE, RATE_LIMIT_IP_PER_MINUTE), every
 * GraphQL operation over HTTP and every subscription start counting one. Both counters are asked at
 * once, so a check is one Redis round trip. An operation one refuses runs nowhere, so it counts for
 * nobody: the other gives its point back. Otherwise a fan retrying through their account's refusals
 * would use up the address's budget of every fan behind the same NAT, and a fan refused for a busy
 * address would find their own account spent when the address's window ended.
 */
export class OperationLimits {
  constructor(
    private readonly perAccount: WindowCounter,
    private readonly perIp: WindowCounter,
  ) {}

  async check(caller: Caller): Promise<Verdict> {
    const account = caller.userId === undefined ? undefined : String(caller.userId);
    const [byIp, byAccount] = await Promise.all([this.perIp.consume(caller.ip), account === undefined ? ALLOWED : this.perAccount.consume(account)]);
    if (!byIp.allowed && byAccount.allowed && account !== undefined) await this.perAccount.giveBack(account);
    if (byIp.allowed && !byAccount.allowed) await this.perIp.giveBack(caller.ip);
    return strictest([byIp, byAccount]);
  }
}

const MESSAGES = {
  account: 'Too many requests from this account: slow down and try again in',
  ip: 'Too many requests from this network address: slow down and try again in',
  login_email: 'Too many failed sign-ins for this email: try again in',
  login_ip: 'Too many failed sign-ins from this network address: try again in',
  sockets: 'Too many open connections for this account: close one, or try again in',
  socket_operations: 'This connection runs too many operations at once: complete one, or try again in',
} as const;

/** The RATE_LIMITED error for a refusal. */
export function refusal(verdict: Extract<Verdict, { allowed: false }>): RateLimited {
  const seconds = verdict.retryAfterSeconds;
  return new RateLimited(`${MESSAGES[verdict.limit]} ${seconds} second${seconds === 1 ? '' : 's'}.`, seconds);
}

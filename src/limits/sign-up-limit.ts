import type { WindowCounter } from './counter';
import { refusal } from './operation-limits';

/**
 * Accounts made per client address and hour (SIGNUPS_PER_IP_PER_HOUR, off by default): every other
 * limit is per account, so a script that makes accounts at will multiplies them (ten accounts hold
 * forty seats). Counted before the account is made, so concurrent sign-ups cannot slip past the
 * limit together, and given back when it made none for sure (an email taken) or may not have (MySQL
 * away or unanswered: SERVICE_UNAVAILABLE says how to find out). While Redis is away the
 * limit cannot be judged and sign-ups go through: they need only MySQL.
 */
export class SignUpLimit {
  constructor(private readonly perIp: WindowCounter) {}

  /** Runs `signUp` unless the address is over its limit (then RATE_LIMITED, and no account is made). */
  async guard<T>(ip: string, signUp: () => Promise<T>): Promise<T> {
    const verdict = await this.perIp.consume(ip);
    if (!verdict.allowed) {
      // A refused sign-up was counted all the same: given back, or refusals made while a sign-up
      // that then fails (an email taken) was in flight would keep the address over its limit.
      await this.perIp.giveBack(ip);
      throw refusal(verdict);
    }
    try {
      return await signUp();
    } catch (error) {
      await this.perIp.giveBack(ip);
      throw error;
    }
  }
}

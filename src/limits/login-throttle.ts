import { createHash } from 'node:crypto';
import { strictest, type WindowCounter } from './counter';
import { refusal } from './operation-limits';

/**
 * Failed logIns per email and per client IP (LOGIN_ATTEMPTS_PER_15_MIN each). Every attempt is counted
 * before the password is checked, so concurrent guesses cannot slip past the limit together; a success
 * gives its IP point back (it was no failure, but it does not wipe the IP's earlier failures either:
 * one known account must not reset a guessing run) and clears the email's count.
 */
export class LoginThrottle {
  constructor(
    private readonly perEmail: WindowCounter,
    private readonly perIp: WindowCounter,
  ) {}

  /**
   * Runs `attempt` unless the email (as the account service spells it: trimmed, lower case) or the IP is
   * over its limit (then RATE_LIMITED, and no attempt).
   */
  async guard<T>(email: string, ip: string, attempt: () => Promise<T>): Promise<T> {
    const emailId = emailKey(email);
    const verdict = strictest(await Promise.all([this.perEmail.consume(emailId), this.perIp.consume(ip)]));
    if (!verdict.allowed) throw refusal(verdict);
    const result = await attempt();
    await Promise.all([this.perEmail.reset(emailId), this.perIp.giveBack(ip)]);
    return result;
  }
}

/** Emails are counted by hash: the throttle needs no address in Redis. */
function emailKey(email: string): string {
  return createHash('sha256').update(email).digest('base64url').slice(0, 22);
}

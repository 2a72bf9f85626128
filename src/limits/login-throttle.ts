import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import type { WindowCounter } from './counter';
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
   * Runs `attempt` unless the email (as the account service spells it: canonicalEmail) or the IP is
   * over its limit (then RATE_LIMITED, and no attempt).
   */
  async guard<T>(email: string, ip: string, attempt: () => Promise<T>): Promise<T> {
    const emailId = emailKey(email);
    // The address first: an address over its limit must not count against the emails it names,
    // or one address could lock any number of accounts out (twenty aliased logIns per request).
    // While Redis is away nothing can count attempts: sign-ins wait (SERVICE_UNAVAILABLE) rather than
    // let guesses through unthrottled.
    // A refused attempt checked no password, so it gives back what it counted: otherwise sign-ins
    // refused while others were in flight would outlast those others' successes and keep the
    // address at its limit for the whole window.
    const byIp = await this.perIp.consumeOrFail(ip);
    if (!byIp.allowed) {
      await this.perIp.giveBack(ip);
      throw refusal(byIp);
    }
    const byEmail = await this.perEmail.consumeOrFail(emailId);
    if (!byEmail.allowed) {
      // Nor did the address make a failed attempt (a fan whose own account is locked by someone
      // else's guesses must not lose sign-ins to every other account as well).
      await this.giveBackBoth(emailId, ip);
      throw refusal(byEmail);
    }
    let result: T;
    try {
      result = await attempt();
    } catch (error) {
      // Only a wrong password is a failed attempt; one that could not be checked (MySQL away) is not.
      if (!(error instanceof AppError && error.code === 'INVALID_CREDENTIALS')) await this.giveBackBoth(emailId, ip);
      throw error;
    }
    await Promise.all([this.perEmail.reset(emailId), this.perIp.giveBack(ip)]);
    return result;
  }

  /** An attempt that made no failure: it counts for neither the email nor the address. */
  private giveBackBoth(emailId: string, ip: string): Promise<unknown> {
    return Promise.all([this.perEmail.giveBack(emailId), this.perIp.giveBack(ip)]);
  }
}

/** Emails are counted by hash: the throttle needs no address in Redis. */
function emailKey(email: string): string {
  return createHash('sha256').update(email).digest('base64url').slice(0, 22);
}

import { problemOf, type ErrorLike, type Problem } from './errors';
import type { KeyValueStore } from './storage';

/**
 * Idempotent payment, as the API wants it: the idempotency key is made from the set of holds being
 * paid (sorted hold IDs), so every attempt to pay that set sends the same key, from this tab or any
 * other of the account, here or on another device: a double click, a retry after a network error or
 * a timeout, and a second tab pressing Pay at the same moment are all one payment, and each gets its
 * answer (the server pays at most once and answers a twin with the first payment). A set once paid
 * cannot be paid again (its holds became tickets), and a set with another seat is another key. The
 * key needs no secure context (crypto.randomUUID does: a page served over plain http from a LAN
 * address has none). Pure logic, unit-tested.
 */

/** The API's longest idempotency key. */
const MAX_KEY_LENGTH = 128;

/**
 * The key for paying these holds. A longer set is cut at the API's limit: two sets of one key then
 * share their first hold, and a hold once paid is gone, so no second payment can be made with it.
 */
export function paymentKey(holdIds: readonly string[]): string {
  return `web-${[...new Set(holdIds)].sort().join(',')}`.slice(0, MAX_KEY_LENGTH);
}

export class Checkout {
  private busy = false;

  /**
   * Starts an attempt, or returns undefined while another is in flight (a double click is ignored,
   * not sent twice). Call `finish` when the attempt settles.
   */
  begin(holdIds: readonly string[]): string | undefined {
    if (this.busy || holdIds.length === 0) return undefined;
    this.busy = true;
    return paymentKey(holdIds);
  }

  finish(): void {
    this.busy = false;
  }
}

/**
 * Whether a payment's answer is news of tickets held now. A device whose cart was out of date can pay
 * holds another device paid long ago, and the server answers with that first payment, whose tickets
 * may have been cancelled since: those are no purchase to show (the holds are gone, as with any hold
 * that ran out).
 */
export function holdsTickets(reservations: readonly { status: string }[]): boolean {
  return reservations.some((reservation) => reservation.status === 'CONFIRMED');
}

/**
 * What a payment's answer says: the payment, when it holds tickets (holdsTickets); otherwise why not:
 * HOLD_NOT_FOUND for one whose tickets are gone, the error's problem, NETWORK for no answer at all.
 */
export function payOutcome<T extends { reservations: readonly { status: string }[] }>(answered: T | null | undefined, error: ErrorLike | undefined): { payment?: T; problem?: Problem } {
  if (answered && holdsTickets(answered.reservations)) return { payment: answered };
  return { problem: answered ? { code: 'HOLD_NOT_FOUND' } : (problemOf(error) ?? { code: 'NETWORK' }) };
}

/** A payment or release that failed, with the holds it was about. */
export interface CartFailure<P> {
  problem: P;
  holdIds: readonly string[];
}

/**
 * The failure the cart still says: while it shows a hold the failure was about, or no hold at all
 * (the holds went: the failure says why, such as HOLD_NOT_FOUND for a hold released elsewhere, where
 * the cart would otherwise just vanish). A cart of other holds only starts clean.
 */
export function failureShown<P>(failure: CartFailure<P> | undefined, shownIds: readonly string[]): P | undefined {
  if (!failure) return undefined;
  return shownIds.length === 0 || shownIds.some((id) => failure.holdIds.includes(id)) ? failure.problem : undefined;
}

/**
 * The payments this tab sent and had no sure answer to, per concert: a reload while one was on its
 * way left no trace of it on the page (the cart empty, the seats bought or not). After a reload the
 * page asks again with the same key (the server answers a payment made with it, and never charges
 * twice) once the holds are no longer held, and shows the payment that went through.
 */
export class PendingPayments {
  constructor(
    private readonly storage: KeyValueStore,
    private readonly key: string,
  ) {}

  private all(): Record<string, string[]> {
    try {
      return JSON.parse(this.storage.getItem(this.key) ?? '{}') as Record<string, string[]>;
    } catch {
      return {};
    }
  }

  private write(all: Record<string, string[]>): void {
    if (Object.keys(all).length === 0) this.storage.removeItem(this.key);
    else this.storage.setItem(this.key, JSON.stringify(all));
  }

  /** A payment of these holds is sent. */
  sent(concertId: string, holdIds: readonly string[]): void {
    this.write({ ...this.all(), [concertId]: [...holdIds] });
  }

  /** Its outcome is known: paid, or refused for sure. */
  settled(concertId: string): void {
    const all = this.all();
    delete all[concertId];
    this.write(all);
  }

  /** The holds of the concert's payment still unanswered, if any. */
  of(concertId: string): readonly string[] | undefined {
    return this.all()[concertId];
  }
}

import { useEffect, useRef, useState } from 'react';
import { currentUserId } from '../session';

/**
 * The fan's other tabs in this browser, told directly what this one changed of the account (a
 * BroadcastChannel: no request, no polling), so that they re-read their holds and balance at once,
 * and only then. A tab logged in to another account ignores what it hears. A tab does not hear itself.
 */
const channel = new BroadcastChannel('concert-tickets');

/**
 * What a tab did: held or released a seat; sent a payment, which then paid (holds gone, points down),
 * was refused, or went unanswered (it may have paid: the tab asks again); cancelled a ticket (a
 * refund), charged points, left a concert's line.
 */
export type AccountChange = 'hold' | 'release' | 'paying' | 'payment' | 'payRefused' | 'payUnanswered' | 'cancellation' | 'charge' | 'leave';

interface Told {
  userId: string;
  what: AccountChange;
  /** The concert it concerns, where that matters (a line left, a payment that ended a turn). */
  concertId?: string;
}

/** What this tab did, for the few of its parts that follow its own changes too (useAccountChanges). */
const thisTab = new EventTarget();

/** Tells the account's other tabs what this one just did (and this tab's useAccountChanges). */
export function tellOtherTabs(what: AccountChange, concertId?: string): void {
  const userId = currentUserId();
  if (!userId) return;
  channel.postMessage({ userId, what, concertId } satisfies Told);
  thisTab.dispatchEvent(new CustomEvent<AccountChange>('change', { detail: what }));
}

/** Runs `react` when this tab or another of the account did one of `changes` (a constant array: it is an effect's dependency). */
export function useAccountChanges(changes: readonly AccountChange[], react: () => void): void {
  const latest = useRef(react);
  latest.current = react;
  useOtherTabs(changes, () => latest.current());
  useEffect(() => {
    const hear = (event: Event) => {
      if (changes.includes((event as CustomEvent<AccountChange>).detail)) latest.current();
    };
    thisTab.addEventListener('change', hear);
    return () => thisTab.removeEventListener('change', hear);
  }, [changes]);
}

/** Runs `react` when another tab of this account did one of `changes` (a constant array: it is an effect's dependency). */
export function useOtherTabs(changes: readonly AccountChange[], react: (concertId: string | undefined, what: AccountChange) => void): void {
  const latest = useRef(react);
  latest.current = react;
  useEffect(() => {
    const hear = ({ data }: MessageEvent<Told>) => {
      if (data.userId === currentUserId() && changes.includes(data.what)) latest.current(data.concertId, data.what);
    };
    channel.addEventListener('message', hear);
    return () => channel.removeEventListener('message', hear);
  }, [changes]);
}

/** What another tab's payment does, step by step. */
const PAYMENT_STEPS: readonly AccountChange[] = ['paying', 'payment', 'payRefused', 'payUnanswered'];

/** The longest another tab's payment holds back this tab's news of the line: that tab may close before its answer. */
const PAYING_ELSEWHERE_MAX_MS = 20_000;

/**
 * Another tab of the account paying for seats of the concert: whether its payment is on its way (this
 * tab then holds back the news that payment may cause, as the paying tab does), and a count that moves
 * with each payment made there (which ends the fan's turn here too).
 */
export function usePaymentsElsewhere(concertId: string): { paying: boolean; paid: number } {
  const [paying, setPaying] = useState(false);
  const [paid, setPaid] = useState(0);
  useOtherTabs(PAYMENT_STEPS, (about, what) => {
    if (about !== concertId) return;
    setPaying(what === 'paying');
    if (what === 'payment') setPaid((count) => count + 1);
  });
  useEffect(() => {
    if (!paying) return;
    const timer = setTimeout(() => setPaying(false), PAYING_ELSEWHERE_MAX_MS);
    return () => clearTimeout(timer);
  }, [paying]);
  return { paying, paid };
}

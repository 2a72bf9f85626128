import { useEffect, useRef } from 'react';
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

/**
 * Tells the account's other tabs what this one just did (and this tab's useAccountChanges). `userId`:
 * the account that did it, if this tab may have logged out since (a payment answered after a log-out).
 */
export function tellOtherTabs(what: AccountChange, concertId?: string, userId = currentUserId()): void {
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

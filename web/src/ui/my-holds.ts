import { createContext, useCallback, useMemo, useRef, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { MaybeOwnChanges, type SeatChange } from '../logic/seats';
import { MyHolds, rereadMe, type HoldItem } from '../operations';
import { useCoalesced, useLastGood } from './hooks';
import { useOtherTabs, type AccountChange } from './other-tabs';
import { useWithoutReleased } from './release-hold';

const HOLDS_CONTEXT = { additionalTypenames: ['Hold', 'Payment'] };
/** The query's own operation, read again: its answer reaches the useQuery below too. */
const READ_AGAIN = { ...HOLDS_CONTEXT, requestPolicy: 'network-only' } as const;
/** What another tab of the account did that changes the fan's holds. */
const HOLD_CHANGES: readonly AccountChange[] = ['hold', 'release', 'payment'];

const seatIdsOf = (holds: readonly HoldItem[]): ReadonlySet<string> => new Set(holds.map((hold) => hold.seat.id));

/**
 * Whether the fan's holds, as read, may be behind: a hold sent from this page, or a read of the holds,
 * is unanswered. The seat counts (pushed) may say the last seat is taken before the fan's own hold of
 * it reads among their holds; `begin` marks a hold on its way and returns what ends it.
 */
export interface HoldsInMotion {
  moving: boolean;
  begin: () => () => void;
}
export const HoldsInMotionContext = createContext<HoldsInMotion>({ moving: false, begin: () => () => undefined });

/**
 * The seats (IDs) of a payment from this page on its way, or unanswered (it may have gone through;
 * pressing Pay again settles it). The cart then offers no Release of them, and the seat map no release
 * either: a seat released from the map stayed in the cart's payment, which then failed. A seat held
 * since is released as any.
 */
export const HoldsInPaymentContext = createContext<ReadonlySet<string>>(new Set());

/**
 * The fan's holds (all concerts'), read again after the fan's own holds, releases and payments here
 * (`reread`) and in the account's other tabs (told over other-tabs), and after the live changes that
 * may be the fan's doing on another device (`seatChanged`, `turnEnded`; see MaybeOwnChanges): those,
 * with the balance after such a sale, at most every `coalesceMs` (a turn's end at once: the page
 * waits on it to say whether the held seats can still be paid for).
 */
export function useMyHolds(coalesceMs: number) {
  const client = useClient();
  const [result] = useQuery({ query: MyHolds, requestPolicy: 'network-only', context: HOLDS_CONTEXT });
  const [maybeOwn] = useState(() => new MaybeOwnChanges());
  /** Those waiting for the holds as read after the turn ended (turnEnded). */
  const afterTurnEnd = useRef<((holds: readonly HoldItem[]) => void)[]>([]);
  // Holds sent and reads of the holds unanswered (see HoldsInMotion).
  const [unanswered, setUnanswered] = useState(0);
  const begin = useCallback(() => {
    setUnanswered((n) => n + 1);
    return () => setUnanswered((n) => n - 1);
  }, []);
  const reread = useCallback(() => {
    const sent = maybeOwn.send();
    void client
      .query(MyHolds, {}, READ_AGAIN)
      .toPromise()
      .then(({ data }) => {
        // A failure reaches the useQuery too, whose useLastGood tries again.
        if (!data) return;
        maybeOwn.answered(sent, seatIdsOf(data.me.holds));
        if (maybeOwn.readSinceTurnEnded) for (const settle of afterTurnEnd.current.splice(0)) settle(data.me.holds);
      })
      .finally(begin());
  }, [client, maybeOwn, begin]);
  const motion = useMemo(() => ({ moving: unanswered > 0, begin }), [unanswered > 0, begin]);
  const holds = useWithoutReleased(useLastGood(result.data?.me.holds, result.error, reread));
  useOtherTabs(HOLD_CHANGES, reread);

  const rereadMaybeOwn = useCoalesced(() => {
    const due = maybeOwn.due();
    if (due.holds) reread();
    // The account bar's own query (the same operation), so the balance it shows follows.
    if (due.balance) void rereadMe(client);
  }, coalesceMs);
  const mine = useRef<ReadonlySet<string>>(new Set());
  mine.current = seatIdsOf(holds ?? []);
  const seatChanged = useCallback(
    (change: SeatChange) => {
      // Not at once: a seat freed because the fan's hold ran out is the cart's to say first (it counts
      // the hold down), and a read now could drop the hold before then.
      if (maybeOwn.note(change, mine.current)) rereadMaybeOwn.soon();
    },
    [maybeOwn, rereadMaybeOwn],
  );
  /** The turn of a fan holding seats ended (paid elsewhere, maybe): the holds a read sent after it finds. */
  const turnEnded = useCallback((): Promise<readonly HoldItem[]> => {
    maybeOwn.turnEnded();
    const read = new Promise<readonly HoldItem[]>((settle) => afterTurnEnd.current.push(settle));
    rereadMaybeOwn.now();
    return read;
  }, [maybeOwn, rereadMaybeOwn]);
  return { holds, error: result.error, reread, seatChanged, turnEnded, motion };
}

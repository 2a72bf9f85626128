import { useCallback, useEffect, useRef, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { MaybeOwnChanges, type SeatChange } from '../logic/seats';
import { Me, MyHolds, type HoldItem } from '../operations';
import { useCoalesced, useLastGood } from './hooks';

const HOLDS_CONTEXT = { additionalTypenames: ['Hold', 'Payment'] };

const seatIdsOf = (holds: readonly HoldItem[]): ReadonlySet<string> => new Set(holds.map((hold) => hold.seat.id));

/**
 * The fan's holds (all concerts'), read again after the fan's own holds, releases and payments here
 * (`reread`), and after the live changes that may be the fan's doing in another tab or device
 * (`seatChanged`, `turnEnded`; see MaybeOwnChanges): those, with the balance after such a sale, at
 * most every `coalesceMs`, however often the seat maps change.
 */
export function useMyHolds(coalesceMs: number) {
  const client = useClient();
  const [result, refetch] = useQuery({ query: MyHolds, requestPolicy: 'network-only', context: HOLDS_CONTEXT });
  const [maybeOwn] = useState(() => new MaybeOwnChanges());
  const lastSent = useRef(0);
  const reread = useCallback(() => {
    lastSent.current = maybeOwn.send();
    refetch({ requestPolicy: 'network-only' });
  }, [refetch, maybeOwn]);
  const holds = useLastGood(result.data?.me.holds, result.error, reread);
  useEffect(() => {
    if (result.data) maybeOwn.answered(lastSent.current, seatIdsOf(result.data.me.holds));
  }, [result.data, maybeOwn]);

  const rereadMaybeOwn = useCoalesced(() => {
    const due = maybeOwn.due();
    if (due.holds) reread();
    // The account bar's own query (the same operation), so the balance it shows follows.
    if (due.balance) void client.query(Me, {}, { requestPolicy: 'network-only' }).toPromise();
  }, coalesceMs);
  const mine = useRef<ReadonlySet<string>>(new Set());
  mine.current = seatIdsOf(holds ?? []);
  const seatChanged = useCallback(
    (change: SeatChange) => {
      if (maybeOwn.note(change, mine.current)) rereadMaybeOwn();
    },
    [maybeOwn, rereadMaybeOwn],
  );
  const turnEnded = useCallback(() => {
    if (maybeOwn.turnEnded(mine.current)) rereadMaybeOwn();
  }, [maybeOwn, rereadMaybeOwn]);
  return { holds, error: result.error, reread, seatChanged, turnEnded };
}

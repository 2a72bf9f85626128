import { useEffect, useRef, useState } from 'react';
import { PaidElsewhere, paidElsewhereWords } from '../logic/seats';
import { serverClock } from '../logic/server-clock';
import type { HoldItem } from '../operations';
import { useAnnounce } from './announcer';
import { settledHolds } from './release-hold';

/**
 * Held seats of the concert that another tab of the account paid for: without this, they just left
 * this tab's cart. Said aloud and shown until the fan enters the line again (`entries`).
 */
export function PaidElsewhereNote({
  holds,
  payingElsewhere,
  paidElsewhere,
  entries,
}: {
  holds: readonly HoldItem[];
  payingElsewhere: boolean;
  paidElsewhere: number;
  entries: number;
}) {
  const announce = useAnnounce();
  const tracker = useRef(new PaidElsewhere<HoldItem>()).current;
  const [seats, setSeats] = useState<readonly number[]>([]);
  const tell = (paid: readonly HoldItem[]) => {
    if (paid.length === 0) return;
    const numbers = paid.map((hold) => hold.seat.number);
    announce(paidElsewhereWords(numbers));
    setSeats((before) => [...new Set([...before, ...numbers])].sort((a, b) => a - b));
  };
  // Before payingElsewhere's: one answer turns that off and this on together, and it must not count as unpaid.
  const paidBefore = useRef(paidElsewhere);
  useEffect(() => {
    if (paidElsewhere > paidBefore.current) tell(tracker.paidNow(serverClock.latestNow()));
    paidBefore.current = paidElsewhere;
  }, [paidElsewhere]);
  useEffect(() => tracker.paying(payingElsewhere), [payingElsewhere, tracker]);
  useEffect(() => tell(tracker.read(holds, settledHolds, serverClock.latestNow())), [holds]);
  useEffect(() => setSeats([]), [entries]);
  if (seats.length === 0) return null;
  return (
    <p className="notice" data-testid="paid-elsewhere">
      {paidElsewhereWords(seats)} <a href="#/tickets">See your tickets</a>
    </p>
  );
}

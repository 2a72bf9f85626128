import { useCallback, useId, useLayoutEffect, useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { problemOf, TICKET_NOT_FOUND, type Problem } from '../logic/errors';
import { cancelledBefore, inShowOrder } from '../logic/tickets';
import { formatDateTime } from '../logic/time';
import { serverClock } from '../logic/server-clock';
import { CancelReservation, MyTickets, rereadMe, type TicketItem } from '../operations';
import { useAnnounce } from './announcer';
import { ErrorNote } from './errors';
import { CONCERTS_REFRESH_MS, useRefresh } from './concerts';
import { useLastGood, useReached, useTitle } from './hooks';
import { tellOtherTabs, useOtherTabs, type AccountChange } from './other-tabs';
import { pointsWords, refundWords } from '../logic/points';

const TICKETS_CONTEXT = { additionalTypenames: ['Payment', 'Reservation'] };
/** What another tab of the account did that changes the fan's tickets. */
const TICKET_CHANGES: readonly AccountChange[] = ['payment', 'cancellation'];
const TICKET_WORDS = { NOT_FOUND: TICKET_NOT_FOUND };
const ALREADY_CANCELLED = 'was already cancelled: its price was refunded then, and not again now.';

/**
 * Cancelling one ticket, in two steps: "Cancel ticket", then "Yes, cancel it" (or "Keep it"). The
 * API refunds the price and frees the seat; its Reservation answer refreshes this list and the
 * balance. Cancelling twice is harmless: the API answers the same cancelled reservation, and refunds
 * nothing; the fan is told so (the list shown may predate a cancellation on another device).
 */
function TicketActions({ ticket, headingId, describedBy }: { ticket: TicketItem; headingId: string; describedBy: string }) {
  const announce = useAnnounce();
  const [cancelling, cancelReservation] = useMutation(CancelReservation);
  // null until first asked; false once the question closed: "Cancel ticket", shown again then, takes
  // the focus back from the buttons that went (a cancelled ticket's heading takes it instead).
  const [confirming, setConfirming] = useState<boolean | null>(null);
  const [problem, setProblem] = useState<Problem | undefined>();
  /** What this tab's cancellation did: refunded the price, or found the ticket cancelled already. */
  const [outcome, setOutcome] = useState<{ refunded: number } | 'already' | null>(null);

  // The show starting while the page is open takes "Cancel ticket" away then (an open question stays:
  // answered, the API refuses, and that is said).
  const started = useReached(Date.parse(ticket.seat.schedule.startsAt));
  // Once it has started, no "Cancel ticket" comes back to take the focus from the buttons that went
  // (the question answered and refused, Keep it, Escape; or the button itself as the show starts):
  // the ticket's heading takes it, if nothing else has.
  const actionsGone = started && !confirming;
  useLayoutEffect(() => {
    if (actionsGone && document.activeElement === document.body) document.getElementById(headingId)?.focus({ preventScroll: true });
  }, [actionsGone, headingId]);

  // Cancelled by this tab, it shows so at once, not "Cancel ticket" again until the list is read again.
  if (ticket.status === 'CANCELLED' || outcome !== null) {
    return (
      <>
        {outcome === 'already' && (
          <p className="refund" data-testid="already-cancelled">
            This ticket {ALREADY_CANCELLED}
          </p>
        )}
        {outcome !== null && outcome !== 'already' && (
          <p className="refund" data-testid="refund">
            {refundWords(outcome.refunded)}
          </p>
        )}
        <ErrorNote problem={problem} words={TICKET_WORDS} />
      </>
    );
  }
  if (started && !confirming) {
    return problem ? <ErrorNote problem={problem} words={TICKET_WORDS} /> : <p className="muted">This show has started: the ticket can no longer be cancelled.</p>;
  }

  async function cancel() {
    if (cancelling.fetching) return;
    setProblem(undefined);
    const sentNotBefore = serverClock.earliestNow();
    const result = await cancelReservation({ reservationId: ticket.id });
    setConfirming(false);
    const cancelled = result.data?.cancelReservation;
    if (!cancelled) {
      setProblem(problemOf(result.error) ?? { code: 'NETWORK' });
      return;
    }
    document.getElementById(headingId)?.focus({ preventScroll: true });
    if (cancelledBefore(cancelled.cancelledAt, sentNotBefore)) {
      setOutcome('already');
      announce(`Ticket ${ticket.code} ${ALREADY_CANCELLED}`);
      return;
    }
    setOutcome({ refunded: cancelled.price });
    tellOtherTabs('cancellation');
    announce(`Ticket ${ticket.code} cancelled. ${refundWords(cancelled.price)}`);
  }

  if (!confirming) {
    return (
      <div className="row">
        <button type="button" className="secondary" aria-describedby={describedBy} onClick={() => setConfirming(true)} autoFocus={confirming === false}>
          Cancel ticket
        </button>
        <ErrorNote problem={problem} words={TICKET_WORDS} />
      </div>
    );
  }
  return (
    // Escape keeps the ticket, as "Keep it" does (and as Escape closes the log-out question).
    <div className="confirm" role="group" aria-label={`Cancel ticket ${ticket.code}?`} onKeyDown={(event) => event.key === 'Escape' && !cancelling.fetching && setConfirming(false)}>
      <p>
        Cancel this ticket? You get {pointsWords(ticket.price)} back, and seat {ticket.seat.number} goes back on sale.
      </p>
      <div className="row">
        <button type="button" className="danger" onClick={() => void cancel()} aria-disabled={cancelling.fetching} aria-busy={cancelling.fetching}>
          Yes, cancel it
        </button>
        <button type="button" className="secondary" onClick={() => !cancelling.fetching && setConfirming(false)} aria-disabled={cancelling.fetching} autoFocus>
          Keep it
        </button>
      </div>
    </div>
  );
}

export function MyTicketsPage() {
  const [result, reread] = useQuery({ query: MyTickets, requestPolicy: 'cache-and-network', context: TICKETS_CONTEXT });
  useOtherTabs(TICKET_CHANGES, () => reread({ requestPolicy: 'network-only' }));
  // A ticket bought or cancelled on another device reaches this page by no feed: the list, and the
  // balance with it, are read again as often as the concert list's counts, while the page shows.
  const client = useClient();
  const refresh = useCallback(
    (opts: { requestPolicy: 'network-only' }) => {
      reread(opts);
      void rereadMe(client);
    },
    [reread, client],
  );
  useRefresh(refresh, CONCERTS_REFRESH_MS);
  useTitle('My tickets');
  // A read that failed for a passing reason (busy, rate-limited, network) is made again with backoff:
  // the page recovers by itself, and a list read before stays shown meanwhile.
  const tickets = useLastGood(result.data?.me.reservations, result.error, reread);
  return (
    <section aria-labelledby="tickets-title">
      <h2 id="tickets-title" tabIndex={-1}>My tickets</h2>
      <ErrorNote error={result.error} read />
      {tickets?.length === 0 && (
        <p className="muted">
          No tickets yet. <a href="#/">See the concerts</a>
        </p>
      )}
      <ul className="tickets">
        {tickets && inShowOrder(tickets, serverClock.now()).map((ticket) => (
          <Ticket key={ticket.id} ticket={ticket} />
        ))}
      </ul>
    </section>
  );
}

function Ticket({ ticket }: { ticket: TicketItem }) {
  const id = useId();
  const cancelled = ticket.status === 'CANCELLED';
  return (
    <li className={cancelled ? 'card ticket cancelled' : 'card ticket'} data-ticket={ticket.code} data-status={ticket.status}>
      {/* The badge beside the heading, not in it: the heading names the concert (read as "Gala Cancelled", it named neither). */}
      <div className="title-line">
        <h3 id={`${id}-title`} tabIndex={-1}>
          {ticket.seat.schedule.concert.title}
        </h3>
        <span className={cancelled ? 'badge sold-out' : 'badge confirmed'}>{cancelled ? 'Cancelled' : 'Confirmed'}</span>
      </div>
      <p id={`${id}-what`}>
        {ticket.seat.schedule.concert.venue} · <time dateTime={ticket.seat.schedule.startsAt}>{formatDateTime(ticket.seat.schedule.startsAt)}</time> · seat {ticket.seat.number} · {pointsWords(ticket.price)}
      </p>
      <p>
        Ticket code: <code className="ticket-code">{ticket.code}</code>
      </p>
      {cancelled && ticket.cancelledAt && (
        <p className="muted">
          Cancelled on <time dateTime={ticket.cancelledAt}>{formatDateTime(ticket.cancelledAt)}</time>; the price was refunded.
        </p>
      )}
      <TicketActions ticket={ticket} headingId={`${id}-title`} describedBy={`${id}-title ${id}-what`} />
    </li>
  );
}

import { useQuery } from 'urql';
import { formatDateTime } from '../logic/time';
import { MyTickets, type TicketItem } from '../operations';
import { ErrorNote } from './errors';

const TICKETS_CONTEXT = { additionalTypenames: ['Payment', 'Reservation'] };

/** Actions on one ticket: the place for "Cancel ticket" once the API has it (being built elsewhere). */
function TicketActions(_props: { ticket: TicketItem }) {
  return null;
}

export function MyTicketsPage() {
  const [result] = useQuery({ query: MyTickets, requestPolicy: 'cache-and-network', context: TICKETS_CONTEXT });
  const tickets = result.data?.me.reservations;
  return (
    <section aria-labelledby="tickets-title">
      <h2 id="tickets-title">My tickets</h2>
      <ErrorNote error={result.error} />
      {tickets?.length === 0 && <p className="muted">No tickets yet.</p>}
      <ul className="tickets">
        {tickets?.map((ticket) => (
          <li key={ticket.id} className="card ticket">
            <h3>{ticket.seat.schedule.concert.title}</h3>
            <p>
              {ticket.seat.schedule.concert.venue} · <time dateTime={ticket.seat.schedule.startsAt}>{formatDateTime(ticket.seat.schedule.startsAt)}</time> · seat {ticket.seat.number} ·{' '}
              {ticket.price} points
            </p>
            <p>
              Ticket code: <code className="ticket-code">{ticket.code}</code>
            </p>
            <TicketActions ticket={ticket} />
          </li>
        ))}
      </ul>
    </section>
  );
}

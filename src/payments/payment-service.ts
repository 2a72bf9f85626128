import { createHash, randomBytes } from 'node:crypto';
import { UniqueConstraintViolationException, type MikroORM } from '@mikro-orm/mysql';
import { CommitUncertain, sqlTransactionRetryingDeadlocks, type Sql } from '../database/sql-transaction';
import { AppError, badInput, characterCount, hasLoneSurrogate } from '../errors';
import { Payment, Reservation } from '../entities';
import type { HoldRef, HoldService } from '../holds/hold-service';
import type { InventoryService } from '../inventory/inventory-service';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import type { PointsService } from '../points/points-service';
import type { QueueService } from '../queue/queue-service';
import { seatState, SeatStatus, type SeatInfo } from '../seats/seat';
import { ReservationStatus, type PaymentRecord, type ReservationRecord } from './payment';
import type { SeatCatalog } from '../seats/seat-catalog';
import type { SeatEvents } from '../seats/seat-events';
import { datetimeNow } from '../database/datetime';
import { sharedNow } from '../redis/clock';
import { announceInBackground, retryInBackground } from '../background-retry';

const MAX_KEY_LENGTH = 128;
const MAX_HOLDS = 100;
/** The reservations.code unique index (see the migration): a collision there means "draw another code". */
export const CODE_INDEX = 'reservations_code_unique';
/** Crockford base32: no I, L, O or U, so a code read aloud or typed is not mistaken. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `TK-` and 8 Crockford characters: 40 random bits. */
function ticketCode(): string {
  return `TK-${Array.from(randomBytes(8), (byte) => CROCKFORD[byte & 31]).join('')}`;
}

interface PayRequest {
  userId: number;
  key: string;
  /** sha256 of the sorted distinct hold IDs: tells a retry from a reuse of the key for other holds. */
  hash: string;
}


const toRecord = (reservation: Reservation): ReservationRecord => ({
  id: reservation.id,
  code: reservation.code,
  seatId: reservation.seat.id,
  price: reservation.price,
  createdAt: reservation.createdAt,
  status: reservation.status,
  cancelledAt: reservation.cancelledAt ?? null,
});

/** The payment row for this key was committed by a concurrent request while ours waited on its lock. */
class TwinCommitted extends Error {}

/**
 * A held seat that MySQL has sold (to a payment of the same holds that committed first, or to a rival
 * after Redis lost the hold): the hold no longer exists, as errors.md words HOLD_NOT_FOUND for pay.
 */
const seatSold = (seat: SeatInfo) => new AppError('HOLD_NOT_FOUND', `Seat ${seat.number} has been sold, so that hold no longer exists: nothing was charged.`);

/** The concerts of these seats, each once. */
const concertsOf = (seats: SeatInfo[]) => [...new Set(seats.map((seat) => seat.concertId))];

/** Paying for holds: once per idempotency key, all or nothing, and never a seat sold twice. */
export class PaymentService {
  constructor(
    private readonly orm: MikroORM,
    private readonly catalog: SeatCatalog,
    private readonly holds: HoldService,
    private readonly points: PointsService,
    private readonly events: SeatEvents,
    private readonly queue: QueueService,
    private readonly inventory: InventoryService,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async pay(userId: number, holdIds: string[], key: string): Promise<PaymentRecord> {
    const ids = [...new Set(holdIds)].sort();
    if (ids.length === 0) throw badInput('holdIds must name at least one hold.');
    if (ids.length > MAX_HOLDS) throw badInput(`One payment may cover at most ${MAX_HOLDS} holds.`);
    const keyLength = characterCount(key);
    if (keyLength === 0 || keyLength > MAX_KEY_LENGTH) throw badInput(`idempotencyKey must have 1 to ${MAX_KEY_LENGTH} characters.`);
    // Stored as UTF-8, where every unpaired surrogate is U+FFFD: two such keys would be one.
    if (hasLoneSurrogate(key)) throw badInput('idempotencyKey is not valid text (it has an unpaired UTF-16 surrogate).');
    const request: PayRequest = { userId, key, hash: createHash('sha256').update(JSON.stringify(ids)).digest('hex') };

    let holds: HoldRef[];
    try {
      holds = await this.holds.keepForPayment(userId, ids);
    } catch (error) {
      // An identical request may have just paid and released these very holds.
      const twin = await this.twinOf(request, error, 'HOLD_NOT_FOUND');
      if (twin) return await this.settleTwin(userId, this.holds.refsOf(ids), twin);
      throw error;
    }
    let paid = false;
    // Whether this payment committed is not known: the holds stay kept for it until their keep ends.
    let uncertain = false;
    let presence: Promise<unknown> = Promise.resolve();
    try {
      const seats = await this.catalog.findMany(holds.map((hold) => hold.seatId));
      // Paying is a sign of presence in the seats' concerts (a payer WAITING again keeps the place): sent
      // while the transaction runs, and never a reason for the payment to fail.
      presence = Promise.all(concertsOf(seats).map((concertId) => this.queue.markPresent(userId, concertId)));
      // Before the commit: a process that dies after it leaves the seat count to the check to heal.
      await this.inventory.noteChanging(concertsOf(seats));
      let payment: PaymentRecord;
      try {
        // Payments racing for the same seats can deadlock: InnoDB rolls one back, and it runs again.
        payment = await sqlTransactionRetryingDeadlocks(this.orm, (sql) => this.record(sql, request, seats, holds));
      } catch (error) {
        if (error instanceof CommitUncertain) {
          uncertain = true;
          // The same request: its key cannot name other holds (no IDEMPOTENCY_KEY_REUSED to lose here).
          const committed = await this.points.afterUnansweredCommit(
            userId,
            async () => {
              const found = await this.earlier(request);
              // Known not to have committed: the holds go back like any failed payment's.
              if (!found) uncertain = false;
              return found;
            },
            'The database did not confirm your payment in time: it may have gone through. Pay again with the same idempotencyKey to find out; it will not charge twice.',
            'nothing was charged.',
          );
          uncertain = false;
          paid = true;
          await this.afterCommit(userId, committed, holds, seats);
          return committed;
        }
        const twin = (await this.twinOf(request, error, 'INSUFFICIENT_POINTS')) ?? (error instanceof TwinCommitted ? await this.earlier(request) : null);
        if (twin) return await this.settleTwin(userId, holds, twin);
        throw (await this.soldMeanwhile(error, seats)) ?? error;
      }
      paid = true;
      await this.afterCommit(userId, payment, holds, seats);
      return payment;
    } finally {
      await presence;
      // Not paid by this request (failed, or answered with a twin's payment): this payment no longer
      // keeps the holds, which the fan may release again at once (else only once its keep ends).
      if (!paid && !uncertain) await this.holds.unkeep(userId, holds).catch((error: unknown) => this.logger.warn({ err: error, userId }, 'a payment that did not pay could not hand its holds back'));
    }
  }

  async reservationsOfPayment(paymentId: number): Promise<ReservationRecord[]> {
    return (await this.orm.em.fork().find(Reservation, { payment: paymentId }, { orderBy: { id: 'asc' } })).map(toRecord);
  }

  /** Newest first, cancelled ones included. */
  async reservationsOf(userId: number): Promise<ReservationRecord[]> {
    return (await this.orm.em.fork().find(Reservation, { user: userId }, { orderBy: { id: 'desc' } })).map(toRecord);
  }

  /** The payment already made with this key, or IDEMPOTENCY_KEY_REUSED if it was for other holds. */
  private async earlier({ userId, key, hash }: PayRequest): Promise<Payment | null> {
    const payment = await this.orm.em.fork().findOne(Payment, { user: userId, idempotencyKey: Buffer.from(key, 'utf8') });
    if (payment && payment.requestHash !== hash) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used for a different set of holds: use a new key for a new payment.');
    }
    return payment;
  }

  /**
   * A retry is only looked up when the request cannot go on (its holds are gone, or the points no
   * longer cover it): then an earlier payment with this key, if any, is the answer. A first payment
   * thus costs no lookup; the unique (user, key) index catches twins that race it.
   */
  private async twinOf(request: PayRequest, error: unknown, code: 'HOLD_NOT_FOUND' | 'INSUFFICIENT_POINTS'): Promise<Payment | null> {
    return error instanceof AppError && error.code === code ? this.earlier(request) : null;
  }

  /**
   * A payment that waited for the user's row lock while another payment of the same holds (under
   * another key) committed finds the points spent: the holds became tickets, so they no longer
   * exist (HOLD_NOT_FOUND, as a payment of them made later is told), which matters more than the
   * balance they would have needed.
   */
  private async soldMeanwhile(error: unknown, seats: SeatInfo[]): Promise<AppError | undefined> {
    if (!(error instanceof AppError) || error.code !== 'INSUFFICIENT_POINTS') return undefined;
    // Not knowing (MySQL gone again) leaves the answer the transaction gave.
    const sold = await this.catalog.reservedAmong(seats.map((seat) => seat.id)).catch(() => new Set<number>());
    const seat = seats.find((candidate) => sold.has(candidate.id));
    return seat && seatSold(seat);
  }

  /**
   * One transaction. The debit comes first: it takes the user's row lock, so one user's payments
   * take turns; then the payment row, whose unique (user, key) index makes a twin that waited fail
   * here, its debit rolled back, so only one ever commits. Reservations are inserted in seat order
   * (no lock cycles between payments); their unique seat index is the final fence against a double
   * sale, whatever Redis says. Written as plain SQL, BEGIN to COMMIT: 5 + one per seat statements,
   * the fewest that keep these guarantees.
   */
  private async record(sql: Sql, { userId, key, hash }: PayRequest, seats: SeatInfo[], holds: HoldRef[]): Promise<PaymentRecord> {
    const amount = seats.reduce((sum, seat) => sum + seat.price, 0);
    const balance = await this.points.debit(sql, userId, amount);
    // A retry reading the row back sees the same time.
    const createdAt = datetimeNow();
    let paymentId: number;
    try {
      const inserted = await sql.run('INSERT INTO payments (user_id, idempotency_key, request_hash, amount, balance, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
        userId,
        key,
        hash,
        amount,
        balance,
        createdAt,
      ]);
      paymentId = Number(inserted.insertId);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw new TwinCommitted();
      throw error;
    }
    await this.points.recordPayment(sql, userId, amount, balance, paymentId);
    const reservations: ReservationRecord[] = [];
    for (const seat of seats) reservations.push(await this.reserve(sql, seat, userId, paymentId, createdAt));
    // Last, just before COMMIT: the holds were kept for the payment, but Redis may have lost them and
    // a rival may hold a seat now; then nothing is sold or charged.
    await this.holds.confirm(userId, holds);
    return { id: paymentId, amount, balance, createdAt, reservations };
  }

  private async reserve(sql: Sql, seat: SeatInfo, userId: number, paymentId: number, createdAt: Date): Promise<ReservationRecord> {
    for (;;) {
      const code = ticketCode();
      try {
        const { insertId } = await sql.run('INSERT INTO reservations (code, seat_id, user_id, payment_id, price, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
          code,
          seat.id,
          userId,
          paymentId,
          seat.price,
          createdAt,
        ]);
        return {
          id: Number(insertId),
          code,
          seatId: seat.id,
          price: seat.price,
          createdAt,
          status: ReservationStatus.CONFIRMED,
          cancelledAt: null,
          seat: seatState(seat, SeatStatus.RESERVED),
        };
      } catch (error) {
        if (!(error instanceof UniqueConstraintViolationException)) throw error;
        if (!error.message.includes(CODE_INDEX)) throw seatSold(seat);
      }
    }
  }

  /**
   * The answer to a retry whose payment had committed already: that request may never have done what
   * follows a commit (its COMMIT's reply was lost or came too late, its process was killed), so it is
   * done now, for a payment recent enough that its holds could still be live (a retry hours later
   * settles nothing), and only for seats it still holds reserved (not one cancelled since). Seat maps
   * hear of the sale once, from whichever of the paying request and its retries gets there first
   * (a retry, or twenty at once, must not repeat it). The ACTIVE slot is left alone: the fan may have
   * been admitted again since.
   */
  private async settleTwin(userId: number, holds: HoldRef[], twin: Payment): Promise<Payment> {
    if (sharedNow() - twin.createdAt.getTime() > this.holds.longestHoldMs()) return twin;
    try {
      const reserved = new Set((await this.reservationsOfPayment(twin.id)).filter((r) => r.status === ReservationStatus.CONFIRMED).map((r) => r.seatId));
      const still = holds.filter((hold) => reserved.has(hold.seatId));
      const seats = await this.catalog.findMany(still.map((hold) => hold.seatId));
      await Promise.all([this.holds.releasePaid(userId, still), this.inventory.mark(seats, true), this.announcePaid(twin.id, seats)]);
      await this.closeIfSoldOut(concertsOf(seats));
    } catch (error) {
      this.logger.warn({ err: error, userId }, 'a retried payment found its committed twin, but settling it failed');
    }
    return twin;
  }

  /**
   * Committed (by this request): count the sale and its seats, free the holds, tell seat maps, end
   * the ACTIVE slot, and close the line of a concert this sold out (closeIfSoldOut). A failure here
   * cannot undo the sale, so it is logged, not thrown: the seats read RESERVED from MySQL anyway, the
   * inventory check frees holds left on sold seats (HoldService.releaseSold), the slot's end is tried
   * again (endActive), and a sold-out line closes only on MySQL's word.
   */
  private async afterCommit(userId: number, payment: { id: number; amount: number }, holds: HoldRef[], seats: SeatInfo[]): Promise<void> {
    this.metrics.payments.inc();
    this.metrics.seatsSold.inc(seats.length);
    this.metrics.paidPoints.inc(payment.amount);
    // Just after the commit, on the shared clock: the slot the payment ends was given by then.
    const paidAt = sharedNow();
    try {
      // Independent of one another: sent together, so they cost one round trip, not one each.
      const concerts = concertsOf(seats);
      await Promise.all([
        this.inventory.mark(seats, true),
        this.holds.releasePaid(userId, holds),
        // The seats were read before the transaction: announced as they are, no second lookup.
        this.announcePaid(payment.id, seats),
        ...concerts.map((concertId) => this.endActive(userId, concertId, paidAt)),
      ]);
      await this.closeIfSoldOut(concerts);
    } catch (error) {
      this.logger.warn({ err: error, userId }, 'payment committed, but releasing its holds, announcing its seats or ending the ACTIVE slot failed');
    }
  }

  /**
   * Ends the payer's ACTIVE slot, now or, failing that (Redis failing over right after the commit),
   * in the background: nothing else would, and the slot would stay taken until its ACTIVE_TTL runs
   * out (15 min by default), the next in line kept waiting. Only the slot the fan had when the
   * payment committed (`paidAt`): a try that went through unanswered, then the fan back in line and
   * admitted, leaves that new turn alone. A failure now is thrown.
   */
  private async endActive(userId: number, concertId: number, paidAt: number): Promise<void> {
    try {
      await this.queue.endActive(userId, concertId, paidAt);
    } catch (error) {
      retryInBackground(
        () => this.queue.endActive(userId, concertId, paidAt),
        () => this.logger.warn({ userId, concertId }, 'gave up ending a payer’s ACTIVE slot: it lapses at its ACTIVE_TTL'),
      );
      throw error;
    }
  }

  /**
   * Tells seat maps the seats are sold, now or, failing that (Redis failing over right after the
   * commit), in the background as they are by then (announceInBackground, HoldService.announceAsNow: a
   * cancellation may have been told meanwhile): nothing else would tell them, and once the holds are
   * released live maps would show the seats HELD for good. A failure now is thrown.
   */
  private async announcePaid(paymentId: number, seats: SeatInfo[]): Promise<void> {
    try {
      await this.events.announcePaid(paymentId, seats, this.holds.longestHoldMs());
    } catch (error) {
      announceInBackground(
        () => this.holds.announceAsNow(seats),
        () => this.logger.warn({ paymentId }, 'gave up announcing a payment’s seats: seat maps show them as they were until reloaded'),
      );
      throw error;
    }
  }

  /**
   * Once the seats count as sold: if they were the last, the inventory check must know of the
   * concert, and its line closes to newcomers now (the next tick tells those in it).
   */
  private async closeIfSoldOut(concertIds: number[]): Promise<void> {
    await this.queue.closeSoldOut(await this.inventory.recordIfSoldOut(concertIds));
  }
}

import type { MikroORM } from '@mikro-orm/mysql';
import { CommitUncertain, sqlRead, sqlTransactionRetryingDeadlocks } from '../database/sql-transaction';
import { AppError, notFound } from '../errors';
import { SETTLE_SECONDS, type InventoryService } from '../inventory/inventory-service';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import type { PointsService } from '../points/points-service';
import type { QueueService } from '../queue/queue-service';
import { seatState, SeatStatus, type SeatInfo } from '../seats/seat';
import type { SeatCatalog } from '../seats/seat-catalog';
import type { SeatEvents } from '../seats/seat-events';
import { ReservationStatus, type ReservationRecord } from './payment';
import { datetimeNow } from '../database/datetime';
import { sharedNow } from '../redis/clock';
import { announceInBackground } from '../background-retry';
import type { HoldService } from '../holds/hold-service';

/** The reservation with what deciding on its cancellation needs: owner, schedule start, seat. */
const FIND = `SELECT r.id, r.code, r.seat_id AS seatId, r.user_id AS userId, r.payment_id AS paymentId, r.price, r.created_at AS createdAt,
  r.status, r.cancelled_at AS cancelledAt, s.schedule_id AS scheduleId, s.number, s.price AS seatPrice, sc.concert_id AS concertId, sc.starts_at AS startsAt
  FROM reservations r JOIN seats s ON s.id = r.seat_id JOIN schedules sc ON sc.id = s.schedule_id WHERE r.id = ?`;

interface Row {
  id: number | string;
  code: string;
  seatId: number | string;
  userId: number | string;
  paymentId: number | string;
  price: number;
  createdAt: Date | string;
  status: ReservationStatus;
  cancelledAt: Date | string | null;
  scheduleId: number | string;
  number: number;
  seatPrice: number;
  concertId: number | string;
  startsAt: Date | string;
}

/** Plain rows carry DATETIME columns as UTC text ("2030-01-01 19:00:00"), the ORM's pool as it is configured. */
const utc = (value: Date | string): Date => (value instanceof Date ? value : new Date(`${value.replace(' ', 'T')}Z`));

const toRecord = (row: Row): ReservationRecord => ({
  id: Number(row.id),
  code: row.code,
  seatId: Number(row.seatId),
  price: Number(row.price),
  createdAt: utc(row.createdAt),
  status: row.status,
  cancelledAt: row.cancelledAt === null ? null : utc(row.cancelledAt),
});

const seatOf = (row: Row): SeatInfo => ({ id: Number(row.seatId), scheduleId: Number(row.scheduleId), concertId: Number(row.concertId), number: Number(row.number), price: Number(row.seatPrice) });

/** A reservation this request cancelled: its answer says the seat is free, as the cancellation made it. */
const cancelledRecord = (row: Row): ReservationRecord => ({ ...toRecord(row), status: ReservationStatus.CANCELLED, seat: seatState(seatOf(row), SeatStatus.AVAILABLE) });

type Outcome = { cancelled: true; row: Row; record: ReservationRecord } | { cancelled: false; row?: Row; record?: ReservationRecord };

/** Cancelling a reservation: once, by its owner, before its schedule starts, with the price refunded. */
export class CancellationService {
  constructor(
    private readonly orm: MikroORM,
    private readonly catalog: SeatCatalog,
    private readonly holds: HoldService,
    private readonly points: PointsService,
    private readonly inventory: InventoryService,
    private readonly queue: QueueService,
    private readonly events: SeatEvents,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /**
   * One transaction: read the reservation; refuse if it is not the caller's (NOT_FOUND) or its
   * schedule has started (NOT_CANCELLABLE); then a conditional UPDATE to CANCELLED, which only one of
   * any number of concurrent cancellations can win (the others wait on its row lock, then match no
   * row and refund nothing); then the refund and its ledger row. A cancelled reservation is returned
   * as it is. The payment keeps its rows: the ledger shows the PAYMENT and the REFUND.
   */
  async cancel(userId: number, reservationId: number): Promise<ReservationRecord> {
    let outcome: Outcome;
    try {
      outcome = await this.cancelInMysql(userId, reservationId);
    } catch (error) {
      if (!(error instanceof CommitUncertain)) throw error;
      outcome = await this.outcomeAfterAll(userId, reservationId);
    }
    if (!outcome.cancelled) {
      if (outcome.row && outcome.record) await this.redoAfterCommit(outcome.row, outcome.record);
      return outcome.record ?? (await this.find(reservationId));
    }
    await this.afterCommit(outcome.row, outcome.record);
    return outcome.record;
  }

  private cancelInMysql(userId: number, reservationId: number): Promise<Outcome> {
    // Two cancellations of one user's reservations can deadlock on the user's row: InnoDB rolls one back; it runs again.
    return sqlTransactionRetryingDeadlocks<Outcome>(this.orm, async (sql) => {
      const [row] = await sql.all<Row>(FIND, [reservationId]);
      if (!row || Number(row.userId) !== userId) throw notFound('reservation');
      if (row.status === ReservationStatus.CANCELLED) return { cancelled: false, row, record: toRecord(row) };
      if (utc(row.startsAt).getTime() <= sharedNow()) {
        throw new AppError('NOT_CANCELLABLE', 'This reservation can no longer be cancelled: its show has started.');
      }
      // Before the commit: a process that dies after it leaves the seat count to the check to heal.
      await this.inventory.noteChanging([Number(row.concertId)]);
      // The answer matches what is read back later.
      const cancelledAt = datetimeNow();
      const { affectedRows } = await sql.run("UPDATE reservations SET status = 'CANCELLED', cancelled_at = ? WHERE id = ? AND status = 'CONFIRMED'", [cancelledAt, reservationId]);
      // A concurrent cancellation committed first; its answer is read after this transaction.
      if (affectedRows === 0) return { cancelled: false };
      await this.points.refund(sql, userId, Number(row.price), Number(row.paymentId));
      return { cancelled: true, row, record: cancelledRecord({ ...row, cancelledAt }) };
    });
  }

  /**
   * The cancellation whose COMMIT went unanswered, once that transaction has ended: cancelled, it is
   * followed up as any; not, SERVICE_UNAVAILABLE saying nothing changed. While MySQL cannot say,
   * SERVICE_UNAVAILABLE telling the fan how to find out: cancelling again answers the cancelled
   * reservation, and refunds once.
   */
  private async outcomeAfterAll(userId: number, reservationId: number): Promise<Outcome> {
    const row = await this.points.afterUnansweredCommit(
      userId,
      async () => {
        const found = await this.findRow(reservationId);
        return found?.status === ReservationStatus.CANCELLED ? found : undefined;
      },
      'The database did not confirm the cancellation in time: it may have gone through. Cancel again to find out; it refunds once.',
      'nothing was changed.',
    );
    return { cancelled: true, row, record: cancelledRecord(row) };
  }

  /**
   * A retry of a cancellation committed lately: its first request may have died, or lost Redis,
   * between the commit and the follow-up, which left the seat counted sold (and a sold-out line
   * closed) until the inventory check heals it after its settle window. The counts are put right
   * again (idempotent); the seat is not announced again: by now someone may hold it.
   */
  private async redoAfterCommit(row: Row, record: ReservationRecord): Promise<void> {
    const cancelledAt = record.cancelledAt?.getTime() ?? 0;
    if (sharedNow() - cancelledAt < SETTLE_SECONDS * 1000) await this.afterCommit(row, record, false);
  }

  /** The reservation as committed now (outside the transaction, whose snapshot predates the twin's commit). */
  private async find(reservationId: number): Promise<ReservationRecord> {
    const row = await this.findRow(reservationId);
    if (!row) throw notFound('reservation');
    return toRecord(row);
  }

  private async findRow(reservationId: number): Promise<Row | undefined> {
    const [row] = await sqlRead<Row>(this.orm, FIND, [reservationId]);
    return row;
  }

  /**
   * Committed: the seat counts as free, seat maps hear it is AVAILABLE (from what the transaction
   * read: no lookup), and the concert's line opens if it was closed. Unless MySQL has the seat sold
   * again by now: this step may come late (a slow Redis, a pause), after another fan held and bought
   * the seat, whose own follow-up has told and counted it; a late AVAILABLE would show a sold seat free
   * and count it left. So the count comes first, then MySQL is asked: a sale committed before its
   * answer is counted again here; one after it counts itself, after this count (asked first, a sale
   * between the answer and a slow count had its count undone until the inventory check healed it).
   * A retry (redoAfterCommit), up to the settle window late when a rival may well have bought the
   * seat, asks MySQL first as well, so a seat sold by then is not counted free even for a moment.
   * A failure here cannot undo the cancellation, so it is logged: the seat map reads MySQL, and the
   * inventory check heals the count.
   */
  private async afterCommit(row: Row, record: ReservationRecord, firstTime = true): Promise<void> {
    if (firstTime) {
      this.metrics.cancellations.inc();
      this.metrics.refundedPoints.inc(record.price);
    }
    const seat = seatOf(row);
    const soldAgain = async () => (await this.catalog.reservedAmong([seat.id])).has(seat.id);
    try {
      if (!firstTime && (await soldAgain())) return;
      await this.inventory.mark([seat], false);
      if (await soldAgain()) {
        await this.inventory.mark([seat], true);
        return;
      }
      await Promise.all([...(firstTime ? [this.announceFree(seat)] : []), this.queue.reopen(seat.concertId)]);
    } catch (error) {
      this.logger.warn({ err: error, reservationId: record.id }, 'cancellation committed, but updating the seat count or reopening the line failed');
    }
  }

  /**
   * Tells seat maps the seat is free (and then HELD again if a rival took it meanwhile:
   * HoldService.retellHeld); if Redis cannot take it (a failover right after the commit),
   * again in the background as it is by then (announceInBackground, HoldService.announceAsNow: sold or
   * held again meanwhile, it is told so): otherwise live maps would show it sold for good. The failure
   * now is thrown, for the caller to log.
   */
  private async announceFree(seat: SeatInfo): Promise<void> {
    try {
      await this.events.announceSeats([seat], SeatStatus.AVAILABLE);
      await this.holds.retellHeld([seat]);
    } catch (error) {
      announceInBackground(
        () => this.holds.announceAsNow([seat]),
        () => this.logger.warn({ seatId: seat.id }, 'gave up announcing a cancelled seat free: seat maps show it sold until reloaded'),
      );
      throw error;
    }
  }
}

/** Integrity of the sale, read from MySQL at the end: nothing sold twice, nothing lost. */
import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Integrity {
  seats: number;
  seatsSold: number;
  confirmed: number;
  cancelled: number;
  paid: number;
  refunded: number;
  confirmedValue: number;
  payments: number;
  /** For the resale figures: seat id → UNIX seconds of each reservation, and whether it is CONFIRMED. */
  reservations: { seatId: string; createdAt: number; confirmed: boolean }[];
  checks: Check[];
  ok: boolean;
}

async function one(sql: Pool, query: string, params: unknown[] = []): Promise<number> {
  const [[row]] = await sql.query<RowDataPacket[]>(query, params);
  return Number(Object.values(row ?? {})[0] ?? 0);
}

export async function checkIntegrity(sql: Pool, scheduleId: number): Promise<Integrity> {
  const seats = await one(sql, 'SELECT COUNT(*) FROM seats WHERE schedule_id = ?', [scheduleId]);
  const confirmed = await one(sql, "SELECT COUNT(*) FROM reservations WHERE status = 'CONFIRMED'");
  const seatsSold = await one(sql, "SELECT COUNT(DISTINCT seat_id) FROM reservations WHERE status = 'CONFIRMED'");
  const cancelled = await one(sql, "SELECT COUNT(*) FROM reservations WHERE status = 'CANCELLED'");
  const confirmedValue = await one(sql, "SELECT COALESCE(SUM(price), 0) FROM reservations WHERE status = 'CONFIRMED'");
  const cancelledValue = await one(sql, "SELECT COALESCE(SUM(price), 0) FROM reservations WHERE status = 'CANCELLED'");
  const paid = await one(sql, 'SELECT COALESCE(SUM(amount), 0) FROM payments');
  const payments = await one(sql, 'SELECT COUNT(*) FROM payments');
  const refunded = await one(sql, "SELECT COALESCE(SUM(amount), 0) FROM point_transactions WHERE kind = 'REFUND'");
  const refunds = await one(sql, "SELECT COUNT(*) FROM point_transactions WHERE kind = 'REFUND'");
  const doubleSeats = await one(sql, "SELECT COUNT(*) FROM (SELECT seat_id FROM reservations WHERE status = 'CONFIRMED' GROUP BY seat_id HAVING COUNT(*) > 1) AS t");
  const badLedgers = await one(
    sql,
    `SELECT COUNT(*) FROM users u LEFT JOIN (SELECT user_id, SUM(amount) AS total FROM point_transactions GROUP BY user_id) t ON t.user_id = u.id
     LEFT JOIN point_transactions last ON last.id = (SELECT MAX(id) FROM point_transactions p WHERE p.user_id = u.id)
     WHERE u.points <> COALESCE(t.total, 0) OR (last.id IS NOT NULL AND last.balance <> u.points)`,
  );
  const paymentLedger = await one(
    sql,
    `SELECT COUNT(*) FROM payments p LEFT JOIN (SELECT payment_id, COUNT(*) AS n, SUM(amount) AS total FROM point_transactions WHERE kind = 'PAYMENT' GROUP BY payment_id) t ON t.payment_id = p.id
     WHERE COALESCE(t.n, 0) <> 1 OR t.total <> -p.amount`,
  );
  const paymentValue = await one(
    sql,
    'SELECT COUNT(*) FROM payments p LEFT JOIN (SELECT payment_id, SUM(price) AS total FROM reservations GROUP BY payment_id) r ON r.payment_id = p.id WHERE COALESCE(r.total, 0) <> p.amount',
  );
  // Every fan makes one checkout: a second payment row for a fan would be a double charge.
  const twicePaid = await one(sql, 'SELECT COUNT(*) FROM (SELECT user_id FROM payments GROUP BY user_id HAVING COUNT(*) > 1) AS t');
  const [rows] = await sql.query<RowDataPacket[]>("SELECT seat_id AS seatId, UNIX_TIMESTAMP(created_at) AS createdAt, status = 'CONFIRMED' AS confirmed FROM reservations");
  const checks: Check[] = [
    { name: 'seats sold = CONFIRMED reservations', ok: seatsSold === confirmed, detail: `${seatsSold} seats, ${confirmed} CONFIRMED` },
    { name: 'paid − refunded = value of CONFIRMED reservations', ok: paid - refunded === confirmedValue, detail: `${paid} − ${refunded} = ${paid - refunded}; CONFIRMED worth ${confirmedValue}` },
    { name: 'each payment = the prices of its reservations', ok: paymentValue === 0, detail: `${paymentValue} payment(s) differ` },
    { name: 'no seat with two CONFIRMED reservations', ok: doubleSeats === 0, detail: `${doubleSeats} seat(s)` },
    { name: "every account's ledger sums to its balance (and its last row says so)", ok: badLedgers === 0, detail: `${badLedgers} account(s) off` },
    { name: 'refunds = cancellations (count and points)', ok: refunds === cancelled && refunded === cancelledValue, detail: `${refunds} REFUND rows worth ${refunded}; ${cancelled} CANCELLED worth ${cancelledValue}` },
    { name: 'no payment charged twice (one PAYMENT ledger row each, one payment per fan)', ok: paymentLedger === 0 && twicePaid === 0, detail: `${paymentLedger} payment(s) with ≠ 1 ledger row or another amount; ${twicePaid} fan(s) with 2+ payments` },
  ];
  return {
    seats,
    seatsSold,
    confirmed,
    cancelled,
    paid,
    refunded,
    confirmedValue,
    payments,
    reservations: rows.map((row) => ({ seatId: String(row.seatId), createdAt: Number(row.createdAt), confirmed: Boolean(row.confirmed) })),
    checks,
    ok: checks.every((check) => check.ok),
  };
}

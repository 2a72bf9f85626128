import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { BenchContext, Scenario } from '../lib/context';
import type { BenchUser, Control } from '../lib/control';
import { ErrorTally, load, type LoadResult } from '../lib/http';
import { errorRow, ratioStatus, row, type Row } from '../lib/report';
import { ServerCost } from '../lib/server-cost';
// As many calls a run, after as long a warm-up, as the pay scenario (see there why).
import { PER_RUN, WARM_RUNS } from './pay';
import { fmtMs, fmtNumber, fmtRatio, median, rawTransaction, timedRuns } from '../lib/util';

const PRICE = 100;

/** The measured request: a lean selection, so what is measured is the cancellation itself. */
const CANCEL = 'mutation($id: ID!) { cancelReservation(reservationId: $id) { id status cancelledAt } }';

/**
 * Setup, straight in SQL (buying is not what is measured): each user has paid for one seat of the
 * schedule (payment, CONFIRMED reservation, PAYMENT ledger row, balance 0). Returns the reservation
 * IDs in user order.
 */
async function seedReservations(control: Control, users: BenchUser[], seatIds: number[], tag: string): Promise<number[]> {
  const sql = control.sql;
  const ids: number[] = [];
  for (let i = 0; i < users.length; i += 1000) {
    const batch = users.slice(i, i + 1000);
    await sql.query('INSERT INTO payments (user_id, idempotency_key, request_hash, amount, balance) VALUES ?', [batch.map((u) => [u.id, `${tag}-${u.id}`, 'bench', PRICE, 0])]);
    const [payments] = await sql.query<RowDataPacket[]>('SELECT id, user_id FROM payments WHERE idempotency_key IN (?)', [batch.map((u) => `${tag}-${u.id}`)]);
    const paymentOf = new Map(payments.map((p) => [Number(p.user_id), Number(p.id)]));
    await sql.query('INSERT INTO reservations (code, seat_id, user_id, payment_id, price) VALUES ?', [
      batch.map((u, j) => [`${tag}-${i + j}`.slice(0, 16), seatIds[i + j], u.id, paymentOf.get(u.id), PRICE]),
    ]);
    await sql.query('INSERT INTO point_transactions (user_id, kind, amount, balance, payment_id) VALUES ?', [batch.map((u) => [u.id, 'PAYMENT', -PRICE, 0, paymentOf.get(u.id)])]);
    const [reservations] = await sql.query<RowDataPacket[]>('SELECT id, user_id FROM reservations WHERE payment_id IN (?)', [[...paymentOf.values()]]);
    const reservationOf = new Map(reservations.map((r) => [Number(r.user_id), Number(r.id)]));
    for (const u of batch) ids.push(reservationOf.get(u.id) as number);
  }
  return ids;
}

/**
 * The baseline: the same transaction by hand with mysql2, mirroring CancellationService: read the
 * reservation with its schedule's start, conditional UPDATE to CANCELLED, the refund (balance read
 * back through LAST_INSERT_ID(expr)), the REFUND ledger row, commit.
 */
async function rawCancel(pool: Pool, userId: number, reservationId: number): Promise<void> {
  await rawTransaction(pool, async (conn) => {
    const [rows] = await conn.query<RowDataPacket[]>(
      'SELECT r.id, r.user_id, r.price, r.payment_id, r.status, sc.starts_at FROM reservations r JOIN seats s ON s.id = r.seat_id JOIN schedules sc ON sc.id = s.schedule_id WHERE r.id = ?',
      [reservationId],
    );
    const reservation = rows[0];
    if (!reservation || Number(reservation.user_id) !== userId || reservation.status !== 'CONFIRMED') throw new Error('not cancellable');
    const [updated] = await conn.query<ResultSetHeader>("UPDATE reservations SET status = 'CANCELLED', cancelled_at = ? WHERE id = ? AND status = 'CONFIRMED'", [new Date(), reservationId]);
    if (updated.affectedRows !== 1) throw new Error('cancelled meanwhile');
    const [refund] = await conn.query<ResultSetHeader>('UPDATE users SET points = LAST_INSERT_ID(points + ?) WHERE id = ?', [reservation.price, userId]);
    await conn.query("INSERT INTO point_transactions (user_id, kind, amount, balance, payment_id) VALUES (?, 'REFUND', ?, ?, ?)", [userId, reservation.price, refund.insertId, reservation.payment_id]);
  });
}

export const cancel: Scenario = {
  name: 'cancel',
  title: 'cancelReservation over GraphQL vs the same transaction as raw SQL (mysql2)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { control, options } = ctx;
    await control.resetRedis();
    const server = await ctx.server('cancel');
    try {
      const perRun = options.quick ? 300 : PER_RUN;
      // Two runs' worth: the server is measured warm (JIT, its MySQL pool grown to size), as in
      // production; the raw baseline gets the same warm-up, so neither side is measured cold.
      const warm = WARM_RUNS * perRun;
      const runs = options.runs;
      // Distinct users per measured cancellation (each one cancels once), and others for the baseline.
      const users = await control.users(warm + perRun * runs);
      const rawUsers = await control.users(warm + perRun * runs, warm + perRun * runs);
      const app = await control.concert(1, users.length, PRICE);
      const raw = await control.concert(1, rawUsers.length, PRICE);
      const appReservations = await seedReservations(control, users, app.seatIds, 'bc');
      const rawReservations = await seedReservations(control, rawUsers, raw.seatIds, 'br');
      ctx.log(`seeded ${users.length + rawUsers.length} reservations`);

      const tally = new ErrorTally();
      const cancelAll = (from: number, count: number, measured: boolean): Promise<LoadResult> =>
        load({
          url: server.url,
          connections: options.connections,
          amount: count,
          body: (i) => JSON.stringify({ query: CANCEL, variables: { id: String(appReservations[from + (i % count)]) } }),
          token: (i) => (users[from + (i % count)] as BenchUser).token,
          onResponse: (_i, status, text) => {
            if (measured) tally.see(status, text);
          },
        });

      await cancelAll(0, warm, false);
      await timedRuns(rawUsers.slice(0, warm), options.connections, (user, i) => rawCancel(control.sql, user.id, rawReservations[i] as number));
      ctx.log('warmed up');
      const appResults: LoadResult[] = [];
      const rawResults: { tps: number; p99: number; cpuMs: number }[] = [];
      const cost = new ServerCost();
      for (let run = 0; run < runs; run++) {
        const from = run * perRun;
        const ids = rawReservations.slice(warm + from, warm + from + perRun);
        rawResults.push(await timedRuns(rawUsers.slice(warm + from, warm + from + perRun), options.connections, (user, i) => rawCancel(control.sql, user.id, ids[i] as number)));
        const go = () => cost.measure(server, () => cancelAll(warm + from, perRun, true));
        const result = run === 0 ? await ctx.profiled(server, 'cancel', go) : await go();
        appResults.push(result);
        const rawResult = rawResults[run] as { tps: number; p99: number };
        ctx.detail('cancel', `run ${run + 1}: ${fmtNumber(perRun)} cancellations at ${fmtNumber(result.rps)}/s, p99 ${fmtMs(result.p99)} | raw SQL ${fmtNumber(rawResult.tps)} tx/s, p99 ${fmtMs(rawResult.p99)}`);
      }
      const [[refunds]] = await Promise.all([control.sql.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM point_transactions WHERE kind = 'REFUND' AND user_id IN (?)", [users.map((u) => u.id)])]);
      const ratio = median(appResults.map((r, i) => r.rps / (rawResults[i] as { tps: number }).tps));
      const rawCpuMs = median(rawResults.map((r) => r.cpuMs));
      ctx.detail('cancel', `one cancellation costs ≈ ${cost.summary()} (the raw transaction: 6 statements, ${rawCpuMs.toFixed(2)} ms of the bench's CPU)`);
      ctx.detail('cancel', `CPU per call, the raw transaction's client ÷ the server: ${fmtRatio(rawCpuMs / cost.cpuMs())}`);
      ctx.detail('cancel', `answers: ${tally.summary()}; REFUND ledger rows: ${refunds[0]?.n} (expected ${users.length}, warm-up included)`);
      const rows: Row[] = [
        row({
          scenario: 'cancel',
          metric: 'throughput',
          result: `${fmtNumber(median(appResults.map((r) => r.rps)))} cancellations/s`,
          baseline: `${fmtNumber(median(rawResults.map((r) => r.tps)))} tx/s (raw SQL)`,
          ratio: fmtRatio(ratio),
          goal: '≥ 0.5×',
          status: ratioStatus(ratio, 0.5, 'atLeast'),
        }),
        row({ scenario: 'cancel', metric: 'p99 latency', result: fmtMs(median(appResults.map((r) => r.p99))), baseline: fmtMs(median(rawResults.map((r) => r.p99))) }),
      ];
      if (tally.errors > 0) rows.push(errorRow('cancel', `unexpected answers: ${tally.summary()}`));
      if (Number(refunds[0]?.n) !== users.length) rows.push(errorRow('cancel', `${refunds[0]?.n} refunds for ${users.length} cancellations`));
      return rows;
    } finally {
      await ctx.stopServer(server);
    }
  },
};

import { createHash, randomBytes } from 'node:crypto';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { Api } from '../../support/graphql-client';
import { CHARGE, HOLD, type Hold } from '../../support/operations';
import type { BenchContext, Scenario } from '../lib/context';
import type { BenchUser } from '../lib/control';
import { ErrorTally, load, type LoadResult } from '../lib/http';
import { errorRow, ratioStatus, row, type Row } from '../lib/report';
import { ServerCost } from '../lib/server-cost';
import { fmtMs, fmtNumber, fmtRatio, mapPool, median, rawTransaction, timedRuns } from '../lib/util';

const PRICE = 100;
/**
 * Payments per measured run. With 800 the server's CPU per payment was still falling run after run
 * (the JIT at work): longer runs, after a longer warm-up, measure it as production runs it.
 */
export const PER_RUN = 2500;
/** Runs' worth of payments before the measured ones. */
export const WARM_RUNS = 2;
/** Enough for the warm-up's batches and up to 18 measured runs: each app user pays once in each. */
const CREDIT = 2000;

/** The measured request: a lean selection (no seat fields), so what is measured is the payment itself. */
const PAY = 'mutation($holds: [ID!]!, $key: String!) { pay(holdIds: $holds, idempotencyKey: $key) { id amount balance reservations { id code } } }';

/**
 * The baseline: the same transaction by hand with mysql2, mirroring src/migrations: conditional
 * debit (its new balance read back through LAST_INSERT_ID(expr), no extra SELECT), the payment row,
 * one reservation, one PAYMENT ledger row, commit. The pool has as many connections as the ORM's.
 */
async function rawPay(pool: Pool, userId: number, seatId: number, key: string): Promise<void> {
  await rawTransaction(pool, async (conn) => {
    const [debit] = await conn.query<ResultSetHeader>('UPDATE users SET points = LAST_INSERT_ID(points - ?) WHERE id = ? AND points >= ?', [PRICE, userId, PRICE]);
    if (debit.affectedRows !== 1) throw new Error('insufficient points');
    const balance = debit.insertId;
    const requestHash = createHash('sha256').update(String(seatId)).digest('hex');
    const [payment] = await conn.query<ResultSetHeader>('INSERT INTO payments (user_id, idempotency_key, request_hash, amount, balance) VALUES (?, ?, ?, ?, ?)', [userId, key, requestHash, PRICE, balance]);
    await conn.query('INSERT INTO reservations (code, seat_id, user_id, payment_id, price) VALUES (?, ?, ?, ?, ?)', [randomBytes(6).toString('base64url'), seatId, userId, payment.insertId, PRICE]);
    await conn.query("INSERT INTO point_transactions (user_id, kind, amount, balance, payment_id) VALUES (?, 'PAYMENT', ?, ?, ?)", [userId, -PRICE, balance, payment.insertId]);
  });
}

export const pay: Scenario = {
  name: 'pay',
  title: 'pay on distinct seats over GraphQL vs the same transaction as raw SQL (mysql2)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { control, options } = ctx;
    await control.resetRedis();
    const server = await ctx.server('pay');
    try {
      const perRun = options.quick ? 300 : PER_RUN;
      // Two runs' worth: the server is measured warm (JIT, its MySQL pool grown to size), as in
      // production; the raw baseline gets the same warm-up, so neither side is measured cold.
      const warm = WARM_RUNS * perRun;
      const total = warm + perRun * options.runs;
      // The same perRun users pay once per run (re-admitted each time: paying ends the ACTIVE slot),
      // so only they need charging; the raw baseline has its own users, so balances never mix.
      const users = await control.users(perRun);
      const rawUsers = await control.users(warm + perRun * options.runs, perRun);
      const app = await control.concert(perRun, total, PRICE);
      const raw = await control.concert(1, warm + perRun * options.runs, PRICE);
      await control.creditRaw(rawUsers.map((u) => u.id), CREDIT);
      const api = new Api(server.url);
      const charged = await mapPool(users, options.connections, (u) => api.as(u.token).request<{ chargePoints: { points: number } }>(CHARGE, { amount: CREDIT }));
      const chargeErrors = charged.filter((b) => b.errors?.length || !b.data);
      if (chargeErrors.length > 0) return [errorRow('pay', `chargePoints failed for ${chargeErrors.length} users: ${JSON.stringify(chargeErrors[0]?.errors)}`)];
      ctx.log(`charged ${perRun} users through chargePoints`);

      const tally = new ErrorTally();
      /** Admits the batch and gives each user a hold on their own seat (setup, not measured). */
      const prepare = async (batch: BenchUser[], seatIds: number[]): Promise<string[]> => {
        // The previous batch paid (so its slots are free already); admit this one.
        await control.admit(app.concertId, batch.map((u) => u.id));
        return mapPool(batch, options.connections, async (u, i) => {
          const body = await api.as(u.token).request<{ holdSeat: Hold }>(HOLD, { seatId: String(seatIds[i]) });
          if (!body.data?.holdSeat) throw new Error(`holdSeat failed in setup: ${JSON.stringify(body.errors)}`);
          return body.data.holdSeat.id;
        });
      };
      /** Each user of the batch pays for their hold, 50 connections, exactly one request each. */
      const payAll = (batch: BenchUser[], holds: string[], measured: boolean): Promise<LoadResult> => {
        const tag = randomBytes(4).toString('hex');
        return load({
          url: server.url,
          connections: options.connections,
          amount: batch.length,
          body: (i) => JSON.stringify({ query: PAY, variables: { holds: [holds[i % batch.length]], key: `${tag}-${i % batch.length}` } }),
          token: (i) => (batch[i % batch.length] as BenchUser).token,
          onResponse: (_i, status, text) => {
            if (measured) tally.see(status, text);
          },
        });
      };
      const appRun = async (batch: BenchUser[], seatIds: number[], measured: boolean) => payAll(batch, await prepare(batch, seatIds), measured);

      for (let batch = 0; batch < WARM_RUNS; batch++) await appRun(users, app.seatIds.slice(batch * perRun, (batch + 1) * perRun), false);
      await timedRuns(rawUsers.slice(0, warm), options.connections, (user, i) => rawPay(control.sql, user.id, raw.seatIds[i] as number, `raw-warm-${i}`));
      ctx.log('warmed up');
      const appResults: LoadResult[] = [];
      /** Redis commands per payment, per run. */
      const perPayment: number[] = [];
      const rawResults: { tps: number; p99: number; cpuMs: number }[] = [];
      const cost = new ServerCost();
      for (let run = 0; run < options.runs; run++) {
        const from = warm + run * perRun;
        // Raw users and seats are laid out the same way: the warm-up's, then each run's.
        const seatIds = raw.seatIds.slice(from, from + perRun);
        const rawResult = await timedRuns(rawUsers.slice(from, from + perRun), options.connections, (user, i) => rawPay(control.sql, user.id, seatIds[i] as number, `raw${run}-${i}`));
        rawResults.push(rawResult);
        const holds = await prepare(users, app.seatIds.slice(from, from + perRun));
        const go = async () => {
          const before = await control.counters();
          const result = await cost.measure(server, () => payAll(users, holds, true));
          const after = await control.counters();
          // Redis only: the server's own statement count (ServerCost) is the SQL figure.
          perPayment.push((after.redis - before.redis - 1) / result.responses);
          return result;
        };
        const result = run === 0 ? await ctx.profiled(server, 'pay', go) : await go();
        appResults.push(result);
        ctx.detail('pay', `run ${run + 1}: ${fmtNumber(perRun)} payments at ${fmtNumber(result.rps)}/s, p99 ${fmtMs(result.p99)} | raw SQL ${fmtNumber(rawResult.tps)} tx/s, p99 ${fmtMs(rawResult.p99)}`);
      }
      const [[reserved], [ledger]] = await Promise.all([
        control.sql.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM reservations r JOIN seats s ON s.id = r.seat_id WHERE s.schedule_id = ?', [app.scheduleId]),
        control.sql.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM point_transactions WHERE kind = 'PAYMENT' AND user_id IN (?)", [users.map((u) => u.id)]),
      ]);
      const rps = median(appResults.map((r) => r.rps));
      const tps = median(rawResults.map((r) => r.tps));
      // Median of per-run ratios: each GraphQL run is paired with the raw run just before it.
      const ratio = median(appResults.map((r, i) => r.rps / (rawResults[i] as { tps: number }).tps));
      const expected = total;
      ctx.detail('pay', `one payment costs ≈ ${median(perPayment).toFixed(1)} Redis commands, counting those inside Lua scripts (server-wide counters over the runs)`);
      ctx.detail('pay', `server alone: ${cost.summary()}; the raw transaction: 6 statements, ${median(rawResults.map((r) => r.cpuMs)).toFixed(2)} ms of the bench's CPU`);
      ctx.detail('pay', `answers: ${tally.summary()}; reservations in the schedule: ${reserved[0]?.n}, PAYMENT ledger rows: ${ledger[0]?.n} (expected ${expected} each, warm-up included)`);
      const rows: Row[] = [
        row({ scenario: 'pay', metric: 'throughput', result: `${fmtNumber(rps)} payments/s`, baseline: `${fmtNumber(tps)} tx/s (raw SQL)`, ratio: fmtRatio(ratio), goal: '≥ 0.5×', status: ratioStatus(ratio, 0.5, 'atLeast') }),
        row({ scenario: 'pay', metric: 'p99 latency', result: fmtMs(median(appResults.map((r) => r.p99))), baseline: fmtMs(median(rawResults.map((r) => r.p99))) }),
      ];
      if (tally.errors > 0) rows.push(errorRow('pay', `unexpected answers: ${tally.summary()}`));
      if (Number(reserved[0]?.n) !== expected) rows.push(errorRow('pay', `${reserved[0]?.n} reservations for ${expected} payments`));
      return rows;
    } finally {
      await ctx.stopServer(server);
    }
  },
};

import type { BenchContext, Scenario } from '../lib/context';
import { ErrorTally } from '../lib/http';
import { errorRow, ratioStatus, row, type Row } from '../lib/report';
import { fmtMs, fmtNumber, fmtRatio, median } from '../lib/util';
import { versusTrivial } from './versus-trivial';

const RIVALS = 1000;
/** A lean selection (the seat's id only, which needs no seat lookup): what is measured is taking the hold. */
const HOLD_HOT_SEAT = 'mutation($seat: ID!) { holdSeat(seatId: $seat) { id expiresAt seat { id } } }';

/**
 * holdSeat on one hot seat: 1,000 distinct ACTIVE users (admitted by real admission ticks) hammer
 * the same seat over 50 connections for the run's duration, tokens rotating, so the first 1,000
 * requests come from 1,000 different rivals and the rest keep retrying. Exactly one user may ever
 * win (their retries get the same hold back); every other answer must be SEAT_UNAVAILABLE.
 * A new seat per run, and each run's rotation starts a connection count further on, so the first
 * requests of each run (among which the winner is) come from rivals who won nothing yet: a winner's
 * holds are kept, and a rival who won more runs than MAX_HOLDS_PER_SCHEDULE would hear
 * HOLD_LIMIT_REACHED.
 */
export const holdSeat: Scenario = {
  name: 'holdSeat',
  title: 'holdSeat on one hot seat by 1,000 ACTIVE rivals, 50 connections, vs { __typename }',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { control } = ctx;
    await control.resetRedis();
    const server = await ctx.server('holdSeat');
    try {
      const users = await control.users(RIVALS);
      // As many seats as rivals, or admission (never more fans than seats left) would not let them all in.
      const { concertId, seatIds } = await control.concert(RIVALS, RIVALS);
      await control.admit(concertId, users.map((u) => u.id));

      const tally = new ErrorTally();
      const perRun: { winners: Set<number>; holdIds: Set<string> }[] = [];
      const costs: { sql: number; redis: number }[] = [];
      const compared = await versusTrivial(ctx, 'holdSeat', server, async (run) => {
        const current = { winners: new Set<number>(), holdIds: new Set<string>() };
        if (run >= 0) perRun[run] = current;
        const seatId = seatIds[run + 1] as number;
        const body = JSON.stringify({ query: HOLD_HOT_SEAT, variables: { seat: String(seatId) } });
        const rival = (i: number) => (i + (run + 1) * ctx.options.connections) % users.length;
        return {
          body: () => body,
          token: (i) => (users[rival(i)] as { token: string }).token,
          onResponse: (i, status, text) => {
            const parsed = (run < 0 ? new ErrorTally() : tally).see<{ holdSeat: { id: string } }>(status, text);
            if (parsed?.data?.holdSeat) {
              current.winners.add(rival(i));
              current.holdIds.add(parsed.data.holdSeat.id);
            }
          },
        };
      }, async (_run, go) => {
        const before = await control.counters();
        const result = await go();
        const after = await control.counters();
        // Minus the counter reads themselves (one statement, one INFO).
        costs.push({ sql: (after.sql - before.sql - 1) / result.responses, redis: (after.redis - before.redis - 1) / result.responses });
        return result;
      });
      ctx.detail('holdSeat', `one holdSeat costs ≈ ${median(costs.map((c) => c.sql)).toFixed(1)} SQL statements and ${median(costs.map((c) => c.redis)).toFixed(1)} Redis commands, counting those inside Lua scripts (server-wide counters over the runs)`);
      const badRuns = perRun.flatMap((r, run) => (r.winners.size === 1 && r.holdIds.size === 1 ? [] : [`run ${run + 1}: ${r.winners.size} winners, ${r.holdIds.size} distinct holds`]));
      const holds = tally.ok;
      const unavailable = tally.count('SEAT_UNAVAILABLE');
      const other = tally.errors - unavailable;
      ctx.detail('holdSeat', `${fmtNumber(RIVALS)} ACTIVE rivals; answers: ${tally.summary()} (successes are the winner's own retries, which return the same hold)`);
      const ratio = compared.ratio;
      return [
        row({ scenario: 'holdSeat', metric: 'throughput', result: `${fmtNumber(compared.rps)} req/s`, baseline: `${fmtNumber(compared.baseRps)} req/s`, ratio: fmtRatio(ratio), goal: '≥ 0.5×', status: ratioStatus(ratio, 0.5, 'atLeast') }),
        row({ scenario: 'holdSeat', metric: 'p99 latency', result: fmtMs(compared.p99), baseline: fmtMs(compared.baseP99) }),
        row({
          scenario: 'holdSeat',
          metric: 'winners per seat',
          result: badRuns.length ? badRuns.join('; ') : `1 (${fmtNumber(holds)} same-hold retries, ${fmtNumber(unavailable)} SEAT_UNAVAILABLE)`,
          goal: 'exactly 1',
          status: badRuns.length === 0 && other === 0 ? 'pass' : 'miss',
        }),
        ...(other > 0 ? [errorRow('holdSeat', `unexpected answers: ${tally.summary()}`)] : []),
      ];
    } finally {
      await ctx.stopServer(server);
    }
  },
};

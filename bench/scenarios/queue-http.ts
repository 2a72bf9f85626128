import { ENTER, STATUS, type QueueStatus } from '../../support/operations';
import type { BenchContext, Scenario } from '../lib/context';
import { ErrorTally, load, paced, TRIVIAL } from '../lib/http';
import { errorRow, ratioStatus, row, type Row } from '../lib/report';
import { fmtMs, fmtNumber, fmtRatio, median } from '../lib/util';
import { versusTrivial, type Compared } from './versus-trivial';

function throughputRows(scenario: string, metric: string, c: Compared, goalRatio: number): Row[] {
  const ratio = c.ratio;
  return [
    row({
      scenario,
      metric,
      result: `${fmtNumber(c.rps)} req/s`,
      baseline: `${fmtNumber(c.baseRps)} req/s`,
      ratio: fmtRatio(ratio),
      goal: `≥ ${goalRatio.toFixed(1)}×`,
      status: ratioStatus(ratio, goalRatio, 'atLeast'),
    }),
  ];
}

/** Checks that every response of the measured runs was the expected kind of answer. */
function tallyRow(scenario: string, tally: ErrorTally): Row[] {
  return tally.errors === 0 ? [] : [errorRow(scenario, `unexpected responses: ${tally.summary()}`)];
}

export const enterQueue: Scenario = {
  name: 'enterQueue',
  title: 'enterQueue, many distinct users, 50 connections, vs { __typename } on the same server',
  async run(ctx: BenchContext): Promise<Row[]> {
    const pool = ctx.options.quick ? 10_000 : 30_000;
    const users = await ctx.control.users(pool);
    const server = await ctx.server('enterQueue');
    const tally = new ErrorTally();
    let sent = 0;
    const compared = await versusTrivial(ctx, 'enterQueue', server, async (run) => {
      // A fresh concert per run, so every user's first request in a run is a real entry.
      const { concertId } = await ctx.control.concert(100);
      const body = JSON.stringify({ query: ENTER, variables: { id: String(concertId) } });
      return {
        body: () => body,
        token: (i) => (users[i % users.length] as { token: string }).token,
        onResponse: (i, status, text) => {
          if (run < 0) return;
          sent = Math.max(sent, i + 1);
          const parsed = tally.see<{ enterQueue: QueueStatus }>(status, text);
          if (parsed?.data && parsed.data.enterQueue.state !== 'WAITING') tally.codes.set('NOT_WAITING', (tally.codes.get('NOT_WAITING') ?? 0) + 1);
        },
      };
    });
    // Latency below saturation: with 50 connections in a closed loop, mean latency is 50 ÷ throughput
    // (Little's law), so the saturated p99 mostly says how fast the machine is. Offer half the
    // trivial query's throughput, evenly paced, and see how long enterQueue then takes.
    const rate = Math.round(compared.baseRps / 2);
    // The trivial query paced alike just before each run: what the machine, the client and the
    // framework alone cost in latency at this rate (the bench's client shares the cores).
    const pacedP99: number[] = [];
    const trivialP99: number[] = [];
    for (let run = 0; run < ctx.options.runs; run++) {
      const base = await paced({ url: server.url, connections: ctx.options.connections, rate, durationSec: ctx.options.durationSec, body: () => TRIVIAL });
      trivialP99.push(base.p99);
      const { concertId } = await ctx.control.concert(100);
      const body = JSON.stringify({ query: ENTER, variables: { id: String(concertId) } });
      const result = await paced({ url: server.url, connections: ctx.options.connections, rate, durationSec: ctx.options.durationSec, body: () => body, token: (i) => (users[i % users.length] as { token: string }).token, onResponse: (_i, status, text) => tally.see(status, text) });
      pacedP99.push(result.p99);
      ctx.detail(
        'enterQueue',
        `paced run ${run + 1}: ${fmtNumber(rate)} req/s offered: p50 ${fmtMs(result.p50)}, p99 ${fmtMs(result.p99)}, max ${fmtMs(result.max)}${result.failed ? `, ${result.failed} failed` : ''} | trivial query paced alike: p50 ${fmtMs(base.p50)}, p99 ${fmtMs(base.p99)}, max ${fmtMs(base.max)}`,
      );
    }
    await ctx.stopServer(server);
    const perRun = Math.round(sent);
    ctx.detail('enterQueue', `${fmtNumber(users.length)} distinct users rotate; up to ${fmtNumber(perRun)} requests in a run, so ${perRun > users.length ? `users repeat after ${fmtNumber(users.length)} (idempotent re-entry)` : 'every request is a new entry'}; ${tally.summary()}`);
    return [
      ...throughputRows('enterQueue', 'throughput', compared, 0.7),
      row({
        scenario: 'enterQueue',
        metric: 'p99 latency, saturated',
        result: fmtMs(compared.p99),
        baseline: fmtMs(compared.baseP99),
        goal: '< 20 ms',
        status: compared.p99 < 20 ? 'pass' : 'miss',
      }),
      row({
        scenario: 'enterQueue',
        metric: `p99 latency at ${fmtNumber(rate)} req/s (½ baseline)`,
        result: fmtMs(median(pacedP99)),
        baseline: `${fmtMs(median(trivialP99))} (trivial query, same rate)`,
        goal: '< 20 ms',
        status: median(pacedP99) < 20 ? 'pass' : 'miss',
      }),
      ...tallyRow('enterQueue', tally),
    ];
  },
};

export const queueStatus: Scenario = {
  name: 'queueStatus',
  title: 'queueStatus polling by waiting users, 50 connections, vs { __typename }',
  async run(ctx: BenchContext): Promise<Row[]> {
    const users = await ctx.control.users(ctx.options.quick ? 10_000 : 20_000);
    const { concertId } = await ctx.control.concert(1);
    await ctx.control.fillWaiting(concertId, users.map((u) => u.id));
    const server = await ctx.server('queueStatus');
    const tally = new ErrorTally();
    const body = JSON.stringify({ query: STATUS, variables: { id: String(concertId) } });
    // Every fan polls once before anything is measured, as they do for as long as they wait: what is
    // measured is steady polling, in which a fan's token was checked at their first poll and is remembered.
    await load({ url: server.url, connections: ctx.options.connections, amount: users.length, body: () => body, token: (i) => (users[i] as { token: string }).token });
    const compared = await versusTrivial(ctx, 'queueStatus', server, async (run) => ({
      body: () => body,
      // Spread over the whole queue (stride 7919 is prime, so every user comes up), not just its head.
      token: (i) => (users[(i * 7919) % users.length] as { token: string }).token,
      onResponse: (_i, status, text) => {
        if (run < 0) return;
        const parsed = tally.see<{ queueStatus: QueueStatus }>(status, text);
        if (parsed?.data && parsed.data.queueStatus.state !== 'WAITING') {
          if (!tally.codes.has('NOT_WAITING')) ctx.log(`not waiting: ${text}`);
          tally.codes.set('NOT_WAITING', (tally.codes.get('NOT_WAITING') ?? 0) + 1);
        }
      },
    }));
    await ctx.stopServer(server);
    ctx.detail('queueStatus', `${fmtNumber(users.length)} users waiting in one concert, each polling its own status; ${tally.summary()}`);
    return [
      ...throughputRows('queueStatus', 'throughput', compared, 0.8),
      row({ scenario: 'queueStatus', metric: 'p99 latency', result: fmtMs(compared.p99), baseline: fmtMs(compared.baseP99) }),
      ...tallyRow('queueStatus', tally),
    ];
  },
};

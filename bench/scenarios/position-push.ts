import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { STATUS_SUBSCRIPTION } from '../../support/operations';
import { ProbedChild, ROOT } from '../lib/child';
import type { BenchContext, Scenario } from '../lib/context';
import type { BenchUser } from '../lib/control';
import type { ProbeReply } from '../lib/probe-protocol';
import { ratioStatus, row, type Row } from '../lib/report';
import { fmtBytes, fmtMs, fmtNumber, fmtRatio, median, percentile, wallMs } from '../lib/util';
import type { SocketSet, SwarmCommand, SwarmEvent } from '../ws/swarm-protocol';

/**
 * Position push. N subscribers wait (positions 1..N) behind one ACTIVE holder in a concert with
 * maxActiveUsers = 1, each with its own queueStatus subscription over graphql-ws. Per run, the
 * ACTIVE user leaves and re-enters at the back (untimed), then the bench runs one real admission
 * tick (QueueService.admitTick: admits position 1, publishes the tick on Redis); every subscriber's
 * position or state changes, so each must get exactly one message. Latency = its arrival - the
 * moment the tick began, stamped by the subscriber processes on the same wall clock.
 *
 * Baseline: a bare ws server (ws/raw-server.ts) in one process sending each of another N sockets
 * its own message of the same size, timed the same way. Both socket sets stay open together and
 * tick and broadcast alternate run by run, so drift on a noisy machine hits both alike; the ratio
 * is the median of per-run ratios. Sockets are opened by four subscriber processes (ws/swarm.ts),
 * not by the bench or the server: the per-process fd limit and keeping the receiving work off the
 * measuring event loop both say so. Heap per subscriber: the server's heapUsed after full GCs (via
 * the preloaded probe), after minus before subscribing, ÷ N.
 */
const WORKERS = 4;
const DELIVERY_TIMEOUT_MS = 60_000;

class Swarm {
  private readonly waiters: ((event: SwarmEvent) => void)[] = [];

  constructor(readonly child: ChildProcess) {
    child.on('message', (event: SwarmEvent) => this.waiters.shift()?.(event));
  }

  ask(command: SwarmCommand, timeoutMs = 300_000): Promise<SwarmEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`subscriber process: no answer to ${command.type}`)), timeoutMs);
      this.waiters.push((event) => {
        clearTimeout(timer);
        resolve(event);
      });
      this.child.send(command);
    });
  }
}

function startSwarms(): Swarm[] {
  return Array.from({ length: WORKERS }, () => new Swarm(fork(path.join(__dirname, '../ws/swarm.js'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
}

interface Phase {
  open: number;
  failed: number;
  firstError?: string;
  sample?: string;
  connectMs: number;
}

async function connectAll(swarms: Swarm[], set: SocketSet, url: string, users: BenchUser[], concertId: number): Promise<Phase> {
  const per = Math.ceil(users.length / swarms.length);
  const events = await Promise.all(
    swarms.map((swarm, w) => {
      const mine = users.slice(w * per, (w + 1) * per);
      return swarm.ask({
        type: 'connect',
        set,
        url,
        tokens: set === 'gql' ? mine.map((u) => u.token) : [],
        count: mine.length,
        query: STATUS_SUBSCRIPTION,
        variables: { id: String(concertId) },
        concurrency: 50,
      });
    }),
  );
  const phase: Phase = { open: 0, failed: 0, connectMs: 0 };
  for (const event of events) {
    if (event.type !== 'connected') throw new Error(`subscriber process answered ${event.type}`);
    phase.open += event.open;
    phase.failed += event.failed;
    phase.firstError ??= event.firstError;
    phase.sample ??= event.sample;
    phase.connectMs = Math.max(phase.connectMs, event.ms);
  }
  if (phase.failed > 0) throw new Error(`${phase.failed} of ${phase.open + phase.failed} ${set} sockets failed: ${phase.firstError}`);
  return phase;
}

interface Delivery {
  p50: number;
  p99: number;
  max: number;
  missing: number;
  unexpected: number;
}

/** Arms one socket set, runs `trigger` (stamping t0 just before), and collects arrival times. */
async function deliver(swarms: Swarm[], set: SocketSet, trigger: () => Promise<unknown>): Promise<Delivery> {
  await Promise.all(swarms.map((s) => s.ask({ type: 'arm', set })));
  const t0 = wallMs();
  await trigger();
  const events = await Promise.all(swarms.map((s) => s.ask({ type: 'collect', timeoutMs: DELIVERY_TIMEOUT_MS })));
  const latencies: number[] = [];
  let unexpected = 0;
  for (const event of events) {
    if (event.type !== 'times') throw new Error(`subscriber process answered ${event.type}`);
    for (const t of event.times) latencies.push(t < 0 ? Infinity : t - t0);
    unexpected += event.unexpected;
  }
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    missing: latencies.filter((l) => l === Infinity).length,
    unexpected,
  };
}

interface SizeResult {
  n: number;
  gql: Delivery[];
  raw: Delivery[];
  /** Per run: GraphQL p99 ÷ the raw p99 of the broadcast right after it. */
  ratios: number[];
  heapPerSub: number;
  rawHeapPerSocket: number;
}

const describe = (d: Delivery) => `p50 ${fmtMs(d.p50)}, p99 ${fmtMs(d.p99)}, max ${fmtMs(d.max)}${d.missing ? `, ${d.missing} never updated` : ''}${d.unexpected ? `, ${d.unexpected} unexpected messages` : ''}`;

async function measureSize(ctx: BenchContext, swarms: Swarm[], wanted: number): Promise<SizeResult> {
  const { control, options } = ctx;
  const label = `N=${fmtNumber(wanted)}`;
  await control.resetRedis();
  const server = await ctx.server('positionPush');
  const rawChild = new ProbedChild(fork(path.join(__dirname, '../ws/raw-server.js'), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), 'raw-server');
  try {
    // Every subscriber is one accepted socket = one fd in the server; stay under its limit.
    const fds = server.fds();
    const n = Math.min(wanted, fds.limit - fds.open - 64);
    if (n < wanted) ctx.detail('positionPush', `N=${fmtNumber(wanted)} capped to ${fmtNumber(n)}: the server process may open ${fmtNumber(fds.limit)} files (hard limit, cannot be raised here) and uses ${fds.open} already`);
    const users = await control.users(n + 1);
    const subscribers = users.slice(0, n);
    const holder = users[n] as BenchUser;
    const { concertId } = await control.concert(1);
    await control.admit(concertId, [holder.id]);
    await control.fillWaiting(concertId, subscribers.map((u) => u.id));

    const before = await server.heap();
    ctx.log(`opening ${fmtNumber(n)} subscriptions`);
    const gqlPhase = await connectAll(swarms, 'gql', server.wsUrl, subscribers, concertId);
    const after = await server.heap();
    if (process.env.BENCH_HEAP_SNAPSHOT) {
      const file = path.join(ROOT, 'bench/profiles', `positionPush-${n}.heapsnapshot`);
      mkdirSync(path.dirname(file), { recursive: true });
      await server.request({ type: 'heap-snapshot', file }, 300_000);
      ctx.log(`heap snapshot: ${path.relative(ROOT, file)}`);
    }
    const heapPerSub = (after.heapUsed - before.heapUsed) / gqlPhase.open;
    const size = gqlPhase.sample?.length ?? 200;
    ctx.detail('positionPush', `${label}: ${fmtNumber(gqlPhase.open)} subscriptions open in ${fmtMs(gqlPhase.connectMs)}; server heapUsed ${fmtBytes(before.heapUsed)} → ${fmtBytes(after.heapUsed)}, rss ${fmtBytes(before.rss)} → ${fmtBytes(after.rss)}; message ${size} bytes, e.g. \`${gqlPhase.sample ?? ''}\``);

    const port = (await rawChild.request({ type: 'port' })).port;
    const rawBefore = await rawChild.heap();
    await connectAll(swarms, 'raw', `ws://127.0.0.1:${port}/graphql`, subscribers, concertId);
    const rawAfter = await rawChild.heap();

    const gql: Delivery[] = [];
    const raw: Delivery[] = [];
    const ratios: number[] = [];
    let active = holder.id;
    // Run -1 warms both paths up (JIT), untimed, as they would be after the first tick in production.
    for (let run = -1; run < options.runs; run++) {
      // The ACTIVE user leaves and re-enters at the back, so every subscriber's status changes at every tick.
      await control.queue.leave(active, concertId);
      await control.queue.enter(active, concertId);
      const tick = () => deliver(swarms, 'gql', () => control.queue.admitTick());
      const g = run === 0 ? await ctx.profiled(server, `positionPush-${n}`, tick) : await tick();
      active = (subscribers[run + 1] as BenchUser).id;
      let reply: ProbeReply = { id: 0 };
      const r = await deliver(swarms, 'raw', async () => (reply = await rawChild.request({ type: 'broadcast', size })));
      if (run < 0) continue;
      gql.push(g);
      raw.push(r);
      ratios.push(g.p99 / r.p99);
      const loop = (reply.finishedAt ?? NaN) - (reply.startedAt ?? NaN);
      ctx.detail('positionPush', `${label} run ${run + 1}: tick → update ${describe(g)} | raw broadcast ${describe(r)} (its send loop ${fmtMs(loop)})`);
    }
    await Promise.all(swarms.map((s) => s.ask({ type: 'close' })));
    return { n, gql, raw, ratios, heapPerSub, rawHeapPerSocket: (rawAfter.heapUsed - rawBefore.heapUsed) / n };
  } finally {
    await rawChild.stop();
    await ctx.stopServer(server);
  }
}

export const positionPush: Scenario = {
  name: 'positionPush',
  title: 'queueStatus pushed to N graphql-ws subscribers after one admission tick, vs a raw ws broadcast',
  async run(ctx: BenchContext): Promise<Row[]> {
    const sizes = process.env.BENCH_PUSH_SIZES ? process.env.BENCH_PUSH_SIZES.split(',').map(Number) : ctx.options.quick ? [2_000, 5_000] : [10_000, 20_000];
    const swarms = startSwarms();
    const rows: Row[] = [];
    try {
      for (const [index, wanted] of sizes.entries()) {
        const r = await measureSize(ctx, swarms, wanted);
        const med = (pick: (d: Delivery) => number, list: Delivery[]) => median(list.map(pick));
        const p99 = med((d) => d.p99, r.gql);
        const rawP99 = med((d) => d.p99, r.raw);
        const ratio = median(r.ratios);
        const missing = Math.max(...r.gql.map((d) => d.missing));
        const scenario = `positionPush N=${fmtNumber(r.n)}`;
        // The first size carries the ratio goal (10,000 in a full run), the last the 1 s goal (20,000).
        const first = index === 0;
        rows.push(
          row({
            scenario,
            metric: 'tick → update, p99',
            result: fmtMs(p99),
            baseline: `${fmtMs(rawP99)} (raw ws)`,
            ratio: fmtRatio(ratio),
            goal: first ? '≤ 1.5× raw' : '< 1,000 ms',
            status: missing > 0 ? 'miss' : first ? ratioStatus(ratio, 1.5, 'atMost') : p99 < 1000 ? 'pass' : 'miss',
          }),
          row({ scenario, metric: 'tick → update, p50', result: fmtMs(med((d) => d.p50, r.gql)), baseline: fmtMs(med((d) => d.p50, r.raw)) }),
          row({ scenario, metric: 'tick → update, max', result: fmtMs(med((d) => d.max, r.gql)), baseline: fmtMs(med((d) => d.max, r.raw)) }),
          row({
            scenario,
            metric: 'server heap per subscriber',
            result: fmtBytes(r.heapPerSub),
            baseline: `${fmtBytes(r.rawHeapPerSocket)} (raw ws socket)`,
            goal: '≤ 10 KB',
            status: r.heapPerSub <= 10 * 1024 ? 'pass' : 'miss',
          }),
        );
        if (missing > 0) rows.push(row({ scenario, metric: 'subscribers never updated', result: fmtNumber(missing), status: 'miss' }));
      }
    } finally {
      for (const swarm of swarms) swarm.child.kill();
    }
    return rows;
  },
};

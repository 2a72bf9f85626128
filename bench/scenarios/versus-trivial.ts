import type { ServerChild } from '../lib/child';
import type { BenchContext } from '../lib/context';
import { load, TRIVIAL, type LoadResult, type LoadSpec } from '../lib/http';
import { ServerCost } from '../lib/server-cost';
import { fmtMs, fmtNumber, median } from '../lib/util';

export interface Compared {
  /** Medians over the runs. */
  rps: number;
  baseRps: number;
  p99: number;
  baseP99: number;
  /** Median of the per-run ratios (each run's target ÷ the baseline measured just before it). */
  ratio: number;
}

/**
 * Runs the target against `{ __typename }` on the same server with the same connections,
 * alternating baseline and target run by run (so drift on a noisy machine hits both), after one
 * short warm-up of each. The ratio reported is the median of the per-run ratios. `target(run)` builds the load for run `run` (-1 is the warm-up).
 */
export async function versusTrivial(
  ctx: BenchContext,
  scenario: string,
  server: ServerChild,
  target: (run: number) => Promise<Omit<LoadSpec, 'url' | 'connections'>>,
  /** Wraps each measured target run (e.g. to read counters just before and after it). */
  around: (run: number, go: () => Promise<LoadResult>) => Promise<LoadResult> = (_run, go) => go(),
): Promise<Compared> {
  const { connections, durationSec, runs } = ctx.options;
  const common = { url: server.url, connections };
  await load({ ...common, durationSec: 1, body: () => TRIVIAL });
  await load({ ...common, ...(await target(-1)), durationSec: 1 });
  const baseline: LoadResult[] = [];
  const measured: LoadResult[] = [];
  const baseCost = new ServerCost();
  const cost = new ServerCost();
  for (let run = 0; run < runs; run++) {
    const base = await baseCost.measure(server, () => load({ ...common, durationSec, body: () => TRIVIAL }));
    baseline.push(base);
    const spec = await target(run);
    const run_ = () => around(run, () => cost.measure(server, () => load({ ...common, durationSec, ...spec })));
    // With --profile, the first measured run of the target is profiled (the profiler costs a little).
    const result = run === 0 ? await ctx.profiled(server, scenario, run_) : await run_();
    measured.push(result);
    ctx.detail(
      scenario,
      `run ${run + 1}: ${fmtNumber(result.rps)} req/s, p50 ${fmtMs(result.p50)}, p99 ${fmtMs(result.p99)} | baseline ${fmtNumber(base.rps)} req/s, p99 ${fmtMs(base.p99)}` +
        (result.socketErrors + result.non2xx > 0 ? ` | ${result.socketErrors} socket errors, ${result.non2xx} non-2xx` : ''),
    );
  }
  ctx.detail(scenario, `per request: ${cost.summary()} | baseline ${baseCost.summary()}`);
  return {
    rps: median(measured.map((r) => r.rps)),
    baseRps: median(baseline.map((r) => r.rps)),
    p99: median(measured.map((r) => r.p99)),
    baseP99: median(baseline.map((r) => r.p99)),
    ratio: median(measured.map((r, i) => r.rps / (baseline[i] as LoadResult).rps)),
  };
}

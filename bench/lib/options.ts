/** Command line and environment of one bench invocation. */
export interface BenchOptions {
  /** Smaller sizes, shorter runs, one run per measurement: a smoke test, not figures to publish. */
  quick: boolean;
  /** Record CPU profiles of the server during measured windows into bench/profiles/. */
  profile: boolean;
  /** Scenario names to run; empty means all. */
  only: string[];
  /** Runs per measurement; the median is reported. */
  runs: number;
  /** Seconds per HTTP load run. */
  durationSec: number;
  /** HTTP connections of the load generator. */
  connections: number;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  const only = argv.filter((a) => !a.startsWith('--'));
  const quick = flags.has('--quick') || env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const profile = flags.has('--profile') || env.BENCH_PROFILE === '1' || env.BENCH_PROFILE === 'true';
  const runs = Number(env.BENCH_RUNS ?? (quick ? 1 : 3));
  const durationSec = Number(env.BENCH_DURATION ?? (quick ? 2 : 5));
  if (!Number.isInteger(runs) || runs < 1) throw new Error('BENCH_RUNS must be a positive integer');
  if (!(durationSec > 0)) throw new Error('BENCH_DURATION must be a positive number of seconds');
  for (const flag of flags) if (!['--quick', '--profile'].includes(flag)) throw new Error(`unknown flag ${flag} (known: --quick, --profile)`);
  return { quick, profile, only, runs, durationSec, connections: 50 };
}

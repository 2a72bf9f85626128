/**
 * npm run rehearse -- [--fans N] [--seats S] [--capacity C] [--replicas R] [--seed X] [--workers W] [--out NAME]
 *   [--arrivalsPerSecond A] [--presenceGraceSeconds G] [--activeIdleSeconds I] [--holdTtlSeconds H]
 *   [--activeTtlSeconds T] [--admissionIntervalMs MS] [--preOpenSeconds P] [--maxSeconds M] [--cluster] [--no-profile]
 *
 * Plays a whole on-sale against the compiled service (see run.ts) in its own database
 * (`rehearsal_concert`) and Redis prefix (`rehearsal`), or `rehearsal_NS_concert` and
 * `rehearsal_NS` with REHEARSAL_NAMESPACE=NS (two rehearsals on one machine must not share them:
 * each drops the other's database as it starts; not `rehearsal:NS`, which a run without a namespace,
 * wiping `rehearsal:*`, would wipe too), then writes bench/rehearsal/NAME.md and
 * NAME.svg (NAME: latest by default). --cluster starts a local Redis Cluster with
 * test/support/redis-cluster.sh (ports from REDIS_CLUSTER_BASE_PORT, 7100 by default), runs on it,
 * and stops it at the end.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { LOCAL_MYSQL_ROOT, LOCAL_REDIS_URL } from '../../support/sandbox';
import { DEFAULT_OPTIONS, type RehearsalOptions } from './plan';
import { renderChart, renderReport } from './report';
import { runRehearsal } from './run';
import { repoRoot } from './servers';

function parse(argv: string[]): { options: RehearsalOptions; out: string } {
  const options: RehearsalOptions = { ...DEFAULT_OPTIONS };
  let out = 'latest';
  const numeric = ['fans', 'seats', 'capacity', 'replicas', 'seed', 'workers', 'maxSeconds', 'preOpenSeconds', 'arrivalsPerSecond', 'presenceGraceSeconds', 'activeIdleSeconds', 'holdTtlSeconds', 'activeTtlSeconds', 'admissionIntervalMs'] as const;
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]?.replace(/^--/, '') ?? '';
    if (name === 'cluster' || name === 'profile' || name === 'no-profile') {
      if (name === 'cluster') options.cluster = true;
      else options.profile = name === 'profile';
      continue;
    }
    const value = argv[++i];
    if (name === 'out' && value) out = value;
    else if ((numeric as readonly string[]).includes(name) && value !== undefined && Number.isFinite(Number(value))) options[name as (typeof numeric)[number]] = Number(value);
    else throw new Error(`unknown option or missing value: --${name} (options: ${numeric.map((n) => `--${n} N`).join(' ')} --out NAME --cluster --no-profile)`);
  }
  if (options.replicas < 1 || options.fans < 1 || options.seats < 1 || options.capacity < 1) throw new Error('fans, seats, capacity and replicas must be at least 1');
  return { options, out };
}

/** The repository's throwaway cluster script: `start` prints the seeds once every node is ok. */
function clusterScript(command: 'start' | 'stop'): string {
  const script = path.join(repoRoot(), 'test/support/redis-cluster.sh');
  return execFileSync(script, [command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

async function main(): Promise<void> {
  const { options, out } = parse(process.argv.slice(2));
  const started = Date.now();
  const say = (line: string) => console.log(`[rehearse +${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);
  if (options.cluster) say(`starting a Redis Cluster (ports from ${process.env.REDIS_CLUSTER_BASE_PORT ?? 7100})`);
  const clusterNodes = options.cluster ? clusterScript('start') : undefined;
  const namespace = process.env.REHEARSAL_NAMESPACE?.replace(/\W/g, '_');
  const sandbox = {
    DATABASE_URL: `${process.env.REHEARSAL_MYSQL_URL ?? LOCAL_MYSQL_ROOT}/${namespace ? `rehearsal_${namespace}_concert` : 'rehearsal_concert'}`,
    REDIS_URL: process.env.REHEARSAL_REDIS_URL ?? LOCAL_REDIS_URL,
    REDIS_KEY_PREFIX: namespace ? `rehearsal_${namespace}` : 'rehearsal',
    ...(clusterNodes ? { REDIS_CLUSTER_NODES: clusterNodes } : {}),
  };
  const run = await runRehearsal(options, sandbox, say).finally(() => (clusterNodes ? clusterScript('stop') : undefined));
  if (process.env.REHEARSAL_DUMP) writeFileSync(process.env.REHEARSAL_DUMP, JSON.stringify({ openAt: run.openAt, samples: run.samples, logs: run.logs, activeSamples: [...run.activeSamples], lastInWait: [...run.lastInWait] }));
  const dir = path.join(repoRoot(), 'bench/rehearsal');
  writeFileSync(path.join(dir, `${out}.svg`), renderChart(run));
  const report = renderReport(run, `${out}.svg`);
  writeFileSync(path.join(dir, `${out}.md`), report);
  console.log(report);
  console.log(`wrote bench/rehearsal/${out}.md and ${out}.svg in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (!run.integrity.ok || run.analysis.experience.internalErrors > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

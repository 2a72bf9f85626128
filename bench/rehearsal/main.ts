/**
 * npm run rehearse -- [--fans N] [--seats S] [--capacity C] [--replicas R] [--seed X] [--workers W] [--out NAME]
 *   [--presenceGraceSeconds G] [--activeIdleSeconds I] [--holdTtlSeconds H] [--preOpenSeconds P] [--maxSeconds M]
 *
 * Plays a whole on-sale against the compiled service (see run.ts) in its own database
 * (`rehearsal_concert`) and Redis prefix (`rehearsal`), then writes bench/rehearsal/NAME.md and
 * NAME.svg (NAME: latest by default).
 */
import 'reflect-metadata';
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
  const numeric = ['fans', 'seats', 'capacity', 'replicas', 'seed', 'workers', 'maxSeconds', 'preOpenSeconds', 'presenceGraceSeconds', 'activeIdleSeconds', 'holdTtlSeconds'] as const;
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]?.replace(/^--/, '') ?? '';
    const value = argv[++i];
    if (name === 'out' && value) out = value;
    else if ((numeric as readonly string[]).includes(name) && value !== undefined && Number.isFinite(Number(value))) options[name as (typeof numeric)[number]] = Number(value);
    else throw new Error(`unknown option or missing value: --${name} (options: ${numeric.map((n) => `--${n}`).join(' ')} --out)`);
  }
  if (options.replicas < 1 || options.fans < 1 || options.seats < 1 || options.capacity < 1) throw new Error('fans, seats, capacity and replicas must be at least 1');
  return { options, out };
}

async function main(): Promise<void> {
  const { options, out } = parse(process.argv.slice(2));
  const sandbox = {
    DATABASE_URL: `${process.env.REHEARSAL_MYSQL_URL ?? LOCAL_MYSQL_ROOT}/rehearsal_concert`,
    REDIS_URL: process.env.REHEARSAL_REDIS_URL ?? LOCAL_REDIS_URL,
    REDIS_KEY_PREFIX: 'rehearsal',
  };
  const started = Date.now();
  const run = await runRehearsal(options, sandbox, (line) => console.log(`[rehearse +${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`));
  if (process.env.REHEARSAL_DUMP) writeFileSync(process.env.REHEARSAL_DUMP, JSON.stringify({ openAt: run.openAt, samples: run.samples, logs: run.logs }));
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

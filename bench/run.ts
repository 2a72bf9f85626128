/**
 * The benchmark suite: every hot path measured beside a baseline taken in the same run,
 * so the ratios mean something on a shared, noisy machine.
 *
 *   npm run bench                      all scenarios (a few minutes), table on stdout + bench/last-run.md
 *   npm run bench -- positionPush pay  only these scenarios (names below)
 *   npm run bench -- --quick           smoke test: smaller sizes, 2 s runs, one run each (or BENCH_QUICK=1)
 *   npm run bench -- --profile         also CPU-profile the server during the first measured run of each
 *                                      scenario: bench/profiles/*.cpuprofile plus a summary (or BENCH_PROFILE=1)
 *   BENCH_RUNS=5 BENCH_DURATION=10     runs per measurement (median reported; default 3) and seconds per HTTP run
 *   BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"   extra node flags for the server processes
 *   BENCH_PUSH_SIZES=10000,20000       subscriber counts for positionPush (first: ratio goal, second: 1 s goal)
 *   BENCH_HEAP_SNAPSHOT=1              write a server heap snapshot after subscribing (bench/profiles/)
 *   BENCH_VERBOSE=1                    echo server output
 *
 * Needs the local MariaDB (root, no password) and Redis (BENCH_MYSQL_URL / BENCH_REDIS_URL to
 * override). It drops and recreates the database `bench_concert` and deletes Redis keys `bench:*`
 * only. Everything runs on loopback.
 *
 * Built apart from the product: bench/tsconfig.json compiles the bench (with the src/ and support/
 * files it imports) to dist-bench/; `npm run build` and the Docker image never include it.
 *
 * How: the server under test is the compiled app (`node dist/src/main.js`) in a child process with
 * PASSWORD_HASH_COST=4, LOG_LEVEL=warn, SEED_DEMO=false, RUN_WORKERS=false (admission ticks are
 * triggered by the bench, through the same QueueService class, so they happen exactly when measured),
 * and a preloaded probe (lib/probe.ts) that reads its heap and records CPU profiles over IPC. Setup
 * goes around the API where the API is not what is measured (users inserted in SQL with one
 * password hash; queues filled with pipelined ZADD exactly as the enter script does).
 *
 * Scenarios (see each file for the details):
 *   enterQueue     enterQueue by many distinct users, 50 connections (autocannon)  vs { __typename }
 *   queueStatus    queueStatus polling by waiting users                             vs { __typename }
 *   positionPush   N graphql-ws subscribers, one admission tick, time to each update  vs a raw ws
 *                  broadcast of a same-sized message to N sockets; server heap per subscriber
 *   admissionTick  QueueService.admitTick() with 1,000,000 waiting                  vs 10,000 waiting
 *   holdSeat       1,000 ACTIVE rivals on one seat: exactly one winner               vs { __typename }
 *   pay            pay on distinct seats over GraphQL                               vs the same SQL transaction by hand
 *   cancel         cancelReservation of distinct reservations over GraphQL          vs the same SQL transaction by hand
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/child';
import { BenchContext, type Scenario } from './lib/context';
import { Control } from './lib/control';
import { parseOptions } from './lib/options';
import { errorRow, markdownTable, textTable, type Row } from './lib/report';
import { errorMessage } from './lib/util';
import { admissionTick } from './scenarios/admission-tick';
import { cancel } from './scenarios/cancel';
import { holdSeat } from './scenarios/hold-seat';
import { pay } from './scenarios/pay';
import { positionPush } from './scenarios/position-push';
import { enterQueue, queueStatus } from './scenarios/queue-http';
import { seatMap } from './scenarios/seat-map';
import { statusRefresh } from './scenarios/status-refresh';

const SCENARIOS: Scenario[] = [enterQueue, queueStatus, positionPush, statusRefresh, admissionTick, holdSeat, pay, cancel, seatMap];

/** The commit (and uncommitted src/ files) of the code under test, read at start, right after `npm run build`. */
function sourceVersion(): string {
  let commit = '?';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT }).toString().split('\n').filter((line) => line.trim() !== '');
    if (dirty.length > 0) commit += ` plus uncommitted changes in ${dirty.length} file(s) under src/ (${dirty.map((l) => l.slice(3)).join(', ')})`;
  } catch {
    // not a git checkout
  }
  return commit;
}

async function machine(control: Control, commit: string): Promise<string[]> {
  const cpus = os.cpus();
  const [[versionRow]] = (await control.sql.query('SELECT VERSION() AS v')) as unknown as [{ v: string }[]];
  const redisInfo = await control.redis.info('server');
  const redisVersion = /redis_version:(\S+)/.exec(redisInfo)?.[1] ?? '?';
  return [
    `- CPU: ${cpus[0]?.model ?? '?'}, ${os.availableParallelism()} cores available (shared; other work was running)`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; OS: ${os.type()} ${os.release()}`,
    `- Node ${process.version}; MariaDB ${versionRow?.v ?? '?'}; Redis ${redisVersion}; all on loopback`,
    `- date: ${new Date().toISOString()}; code under test: commit ${commit} (as built when the run began)`,
  ];
}

const usage = () =>
  [
    'npm run bench -- [scenario …] [--quick] [--profile]',
    `scenarios (all by default): ${SCENARIOS.map((s) => s.name).join(', ')}`,
    'environment: BENCH_RUNS, BENCH_DURATION, BENCH_PUSH_SIZES, BENCH_SERVER_NODE_ARGS, BENCH_HEAP_SNAPSHOT, BENCH_VERBOSE (see bench/run.ts)',
  ].join('\n');

async function main(): Promise<void> {
  if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) {
    console.log(usage());
    return;
  }
  const options = parseOptions(process.argv.slice(2), process.env);
  const unknown = options.only.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const chosen = options.only.length ? SCENARIOS.filter((s) => options.only.includes(s.name)) : SCENARIOS;
  const commit = sourceVersion();

  process.stderr.write(`bench: ${chosen.map((s) => s.name).join(', ')}${options.quick ? ' (quick)' : ''}; ${options.runs} run(s) each, median reported\n`);
  process.stderr.write(`resetting database bench_concert and Redis keys bench:* …\n`);
  const control = await Control.open();
  const ctx = new BenchContext(options, control);
  const rows: Row[] = [];
  const started = Date.now();
  try {
    for (const scenario of chosen) {
      process.stderr.write(`\n▶ ${scenario.name}: ${scenario.title}\n`);
      const t = Date.now();
      try {
        rows.push(...(await scenario.run(ctx)));
      } catch (error) {
        process.stderr.write(`  ✗ ${scenario.name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
        rows.push(errorRow(scenario.name, errorMessage(error).split('\n')[0] ?? 'failed'));
      } finally {
        await ctx.stopAll();
      }
      process.stderr.write(`  (${((Date.now() - t) / 1000).toFixed(0)} s)\n`);
    }
    const info = await machine(control, commit);
    const elapsed = `${((Date.now() - started) / 1000).toFixed(0)} s`;
    process.stdout.write(`\n${textTable(rows)}\n\n${info.join('\n')}\n- bench time: ${elapsed}\n`);
    const command = `npm run bench${options.quick || options.only.length || options.profile ? ` -- ${[...options.only, ...(options.quick ? ['--quick'] : []), ...(options.profile ? ['--profile'] : [])].join(' ')}` : ''}`;
    const markdown = [
      '# Benchmark results',
      '',
      `Produced by \`${command}\` (${options.quick ? 'QUICK mode: smaller sizes, not figures to publish; ' : ''}${options.runs} run(s) per measurement, median shown; bench time ${elapsed}).`,
      'Each result sits beside a baseline measured in the same run on the same machine; the ratio is what the goals constrain.',
      '',
      markdownTable(rows),
      '',
      '## Machine',
      '',
      ...info,
      '',
      '## Details',
      '',
      ...ctx.details,
      ...(ctx.profiles.length ? ['', '## CPU profiles of the server (first measured run)', '', ...ctx.profiles] : []),
      '',
    ].join('\n');
    // Not bench/results.md: that file is the published record (a full run and what it means, at a
    // named commit), updated by hand from a full run, so a smoke run cannot overwrite it.
    writeFileSync(path.join(ROOT, 'bench/last-run.md'), markdown);
    process.stderr.write(`\nwritten to bench/last-run.md\n`);
  } finally {
    await ctx.stopAll();
    await control.close();
  }
  if (rows.some((r) => r.status === 'error')) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

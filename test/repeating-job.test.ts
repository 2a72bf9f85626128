import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { redisKeys } from '../src/redis';
import { idleAfterMs, startRepeatingJob, stuckAfterMs, type RepeatingJobOptions } from '../src/workers/repeating-job';
import { resetSandbox } from '../support/sandbox';
import { testEnv } from './support/harness';

const EVERY_MS = 200;

describe('a repeating job whose worker is stuck', () => {
  it('starts the worker anew once a tick has waited past stuckAfterMs with none taken (here: a first run that never ends)', async () => {
    const env = testEnv('repeating_job');
    await resetSandbox(env);
    const config = loadConfig(env);
    let runs = 0;
    const job = await startRepeatingJob({
      name: 'stuck-probe',
      everyMs: EVERY_MS,
      redis: config.redis,
      prefix: redisKeys(config.redisPrefix).bullPrefix,
      logger: createLogger('silent'),
      // The first run hangs for good (as a worker left idle by a lost connection takes nothing more).
      run: () => (++runs === 1 ? new Promise(() => undefined) : Promise.resolve()),
    });
    try {
      await vi.waitFor(() => expect(runs).toBe(1), { timeout: 10_000, interval: 50 });
      // Stuck: no other tick is taken meanwhile…
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(runs).toBe(1);
      // …until the watchdog starts a new worker, which takes the ticks again.
      await vi.waitFor(() => expect(runs).toBeGreaterThan(3), { timeout: stuckAfterMs(EVERY_MS) + 15_000, interval: 200 });
    } finally {
      await job.close();
    }
  }, 60_000);

  it('starts a stuck worker anew after idleAfterMs even while another replica takes every tick (so nothing waits)', async () => {
    const env = testEnv('repeating_job_idle');
    await resetSandbox(env);
    const config = loadConfig(env);
    const common: Omit<RepeatingJobOptions, 'run'> = { name: 'idle-probe', everyMs: EVERY_MS, redis: config.redis, prefix: redisKeys(config.redisPrefix).bullPrefix, logger: createLogger('silent') };
    let stuckRuns = 0;
    let otherRuns = 0;
    const stuck = await startRepeatingJob({ ...common, run: () => (++stuckRuns === 1 ? new Promise(() => undefined) : Promise.resolve()) });
    await vi.waitFor(() => expect(stuckRuns).toBe(1), { timeout: 10_000, interval: 50 });
    // Another replica's worker takes the ticks from now on: none waits, so only the idle rule can act.
    const other = await startRepeatingJob({ ...common, run: async () => void otherRuns++ });
    try {
      await vi.waitFor(() => expect(otherRuns).toBeGreaterThan(5), { timeout: 10_000, interval: 50 });
      expect(stuckRuns).toBe(1);
      await vi.waitFor(() => expect(stuckRuns).toBeGreaterThan(1), { timeout: idleAfterMs(EVERY_MS) + 20_000, interval: 200 });
    } finally {
      await Promise.all([stuck.close(), other.close()]);
    }
  }, 90_000);
});

describe('a repeating job closed while a tick runs past the close wait', () => {
  it.each(['completes', 'fails'])('lets the worker go, and the tick that then %s leaves the process able to exit', async (outcome) => {
    const env = testEnv(`repeating_job_abandoned_${outcome}`);
    await resetSandbox(env);
    const config = loadConfig(env);
    const script = path.join(__dirname, 'support/abandoned-tick.mjs');
    const child = spawn(process.execPath, [script, JSON.stringify(config.redis), redisKeys(config.redisPrefix).bullPrefix, outcome], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // About 3 s of close wait: a starved event loop would keep it running (at 100% CPU) for ever.
    const code = await new Promise<number | null>((resolve) => {
      const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('exit', (exitCode) => {
        clearTimeout(deadline);
        resolve(exitCode);
      });
    });
    expect(output).toContain('timers still fire');
    expect(code).toBe(0);
  }, 30_000);
});

describe('a repeating job with a long period', () => {
  it('sets no timer past Node’s longest delay (which would fire every millisecond): ADMISSION_INTERVAL_MS may be 2,147,483,647, the inventory check ten times that', async () => {
    const env = testEnv('repeating_job_long');
    await resetSandbox(env);
    const config = loadConfig(env);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const job = await startRepeatingJob({
      name: 'long-probe',
      everyMs: 2_147_483_647 * 10,
      redis: config.redis,
      prefix: redisKeys(config.redisPrefix).bullPrefix,
      logger: createLogger('silent'),
      run: () => Promise.resolve(),
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
      await job.close();
    }
  });
});

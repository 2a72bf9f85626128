import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { redisKeys } from '../src/redis';
import { startRepeatingJob, stuckAfterMs } from '../src/workers/repeating-job';
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
});

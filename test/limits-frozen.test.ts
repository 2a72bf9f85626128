import { Counter } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { isUnavailable } from '../src/errors';
import { OperationLimits } from '../src/limits';
import { SilentRedis, WindowCounter } from '../src/limits/counter';
import { createRedis, redisReady } from '../src/redis';
import { RedisServer } from './support/redis-server';

const COMMAND_TIMEOUT_MS = 300;
const refusals = new Counter({ name: 'frozen_refusals', help: 'refusals', labelNames: ['limit'], registers: [] });

/** How long `run` took, and what it gave or threw. */
async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = Date.now();
  try {
    const value = await run();
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('limit counts on a single Redis that freezes', () => {
  it('wait for one unanswered count, then none while it is silent (a PING a second, which nothing waits for, asks; keys blocked in memory still refused), and count as before once it answers', async () => {
    const frozen = new RedisServer();
    await frozen.start();
    const redis = createRedis({ url: frozen.url }, { commandTimeout: COMMAND_TIMEOUT_MS });
    const silence = new SilentRedis(redis);
    const counter = (name: 'account' | 'ip' | 'login_ip', blockInMemory = true) => new WindowCounter(redis, name, `test:frozen:${name}`, 100, 60, refusals, blockInMemory, silence);
    const operations = new OperationLimits(counter('account'), counter('ip'), true);
    const signIns = counter('login_ip', false);
    // An account allowed one operation a window, over it before the freeze: blocked in this process's memory.
    const strict = new OperationLimits(new WindowCounter(redis, 'account', 'test:frozen:strict', 1, 60, refusals, true, silence), counter('ip'), true);
    try {
      await redisReady(redis);
      expect((await strict.check({ userId: 99, ip: '10.0.0.9' })).allowed).toBe(true);
      expect((await strict.check({ userId: 99, ip: '10.0.0.9' })).allowed).toBe(false);
      await frozen.pause();
      // The first count waits its command timeout, and the operation is let through, as before.
      const first = await timed(() => operations.check({ userId: 1, ip: '10.0.0.1' }));
      expect(first.value).toEqual({ allowed: true });
      expect(first.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 10);
      // Redis is known silent: the next counts are not asked, so nothing waits on them.
      for (const caller of [{ userId: 2, ip: '10.0.0.2' }, { ip: '10.0.0.3' }]) {
        const next = await timed(() => operations.check(caller));
        expect(next.value).toEqual({ allowed: true });
        expect(next.ms).toBeLessThan(COMMAND_TIMEOUT_MS / 2);
      }
      // A key blocked in memory stays refused (from memory, at once), Redis silent or not.
      const blocked = await timed(() => strict.check({ userId: 99, ip: '10.0.0.9' }));
      expect(blocked.value).toMatchObject({ allowed: false, limit: 'account' });
      expect(blocked.ms).toBeLessThan(COMMAND_TIMEOUT_MS / 2);
      // A count that must not let anything through unjudged (sign-ins) fails at once, as unavailable.
      const signIn = await timed(() => signIns.consumeOrFail('10.0.0.4'));
      expect(isUnavailable(signIn.error)).toBe(true);
      expect(signIn.ms).toBeLessThan(COMMAND_TIMEOUT_MS / 2);
      // Requests one at a time, a second and more apart (a quiet moment), each the first in its second:
      // none waits (each once waited its command timeout, for the rest of the freeze). A refusal from
      // memory passes for Redis answering no more than before.
      for (let i = 0; i < 3; i++) {
        await sleep(1100);
        expect((await strict.check({ userId: 99, ip: '10.0.0.9' })).allowed).toBe(false);
        const alone = await timed(() => operations.check({ userId: 3 + i, ip: '10.0.0.5' }));
        expect(alone.value).toEqual({ allowed: true });
        expect(alone.ms).toBeLessThan(COMMAND_TIMEOUT_MS / 2);
      }
      expect(silence.answering).toBe(false);

      frozen.resume();
      await redis.ping();
      // A count asked now sends the PING that finds Redis answering; from then on every count is counted again.
      await sleep(1100);
      await operations.check({ userId: 6, ip: '10.0.0.8' });
      await vi.waitFor(() => expect(silence.answering).toBe(true));
      for (let i = 0; i < 3; i++) expect(await operations.check({ userId: 5, ip: '10.0.0.7' })).toEqual({ allowed: true });
      expect(await redis.get('test:frozen:account:5')).toBe('3');
      expect(await redis.get('test:frozen:ip:10.0.0.7')).toBe('3');
      expect((await timed(() => signIns.consumeOrFail('10.0.0.4'))).value).toEqual({ allowed: true });
    } finally {
      redis.disconnect();
      frozen.resume();
      await frozen.stop();
    }
  });
});

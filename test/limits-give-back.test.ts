import { Counter } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { WindowCounter } from '../src/limits/counter';
import { createRedis, redisReady } from '../src/redis';
import { TEST_REDIS } from './support/harness';

const redis = createRedis(TEST_REDIS);
const refusals = new Counter({ name: 'give_back_refusals', help: 'refusals', labelNames: ['limit'], registers: [] });
const prefix = `test:limits_give_back:${process.pid}:${Date.now()}`;
afterAll(() => redis.disconnect());

describe('an event given back to a window count', () => {
  it('comes off a running count, and makes no count of its own once the window has ended: no event is banked for the next window', async () => {
    await redisReady(redis);
    const counter = new WindowCounter(redis, 'login_ip', prefix, 3, 60, refusals, false);
    const verdicts = async (n: number) => {
      const allowed: boolean[] = [];
      for (let i = 0; i < n; i++) allowed.push((await counter.consumeOrFail('a')).allowed);
      return allowed;
    };
    expect(await verdicts(4)).toEqual([true, true, true, false]);
    // The refused one given back: still at the limit.
    await counter.giveBack('a');
    expect(await verdicts(1)).toEqual([false]);
    // Its window ends before it is given back (a refused sign-in racing the window's end).
    await redis.del(`${prefix}:a`);
    await counter.giveBack('a');
    expect(await redis.exists(`${prefix}:a`)).toBe(0);
    // The next window allows the limit, not one more (rate-limiter-flexible's reward made a count of -1).
    expect(await verdicts(4)).toEqual([true, true, true, false]);
  });
});

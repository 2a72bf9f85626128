import { Counter } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { LoginThrottle, OperationLimits } from '../src/limits';
import { WindowCounter } from '../src/limits/counter';
import { AppError, RateLimited } from '../src/errors';
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

describe('operation limits whose account and address counts are asked apart (on a Cluster)', () => {
  it('give the account its point back when the address refuses the operation, as the one-server script does', async () => {
    await redisReady(redis);
    const limits = new OperationLimits(new WindowCounter(redis, 'account', `${prefix}:account`, 2, 60, refusals), new WindowCounter(redis, 'ip', `${prefix}:ip`, 1, 60, refusals), false);
    expect((await limits.check({ userId: 7, ip: '10.0.0.1' })).allowed).toBe(true);
    expect(await limits.check({ userId: 7, ip: '10.0.0.1' })).toMatchObject({ allowed: false, limit: 'ip' });
    // The account has made one operation of its two: from another address it goes on.
    expect((await limits.check({ userId: 7, ip: '10.0.0.2' })).allowed).toBe(true);
  });
});

describe('a sign-in whose password was never checked', () => {
  it('is no failed attempt, for the email or the address; a wrong password is', async () => {
    await redisReady(redis);
    const throttle = new LoginThrottle(new WindowCounter(redis, 'login_email', `${prefix}:email`, 1, 60, refusals, false), new WindowCounter(redis, 'login_ip', `${prefix}:login-ip`, 1, 60, refusals, false));
    // The hasher refused it in a burst of sign-ups: counted, such a flood would lock honest fans out.
    const busy = () => Promise.reject(new RateLimited('Too many sign-ups and sign-ins at once: please try again in 3 seconds.', 3));
    for (let i = 0; i < 3; i++) await expect(throttle.guard('fan@example.test', '10.0.0.1', busy)).rejects.toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/at once/) });
    expect(await throttle.guard('fan@example.test', '10.0.0.1', () => Promise.resolve('signed in'))).toBe('signed in');
    // A wrong password counts: the limit (1) is reached, and the next sign-in is refused.
    await expect(throttle.guard('fan@example.test', '10.0.0.1', () => Promise.reject(new AppError('INVALID_CREDENTIALS', 'wrong')))).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    await expect(throttle.guard('fan@example.test', '10.0.0.1', () => Promise.resolve('signed in'))).rejects.toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/failed sign-ins/) });
  });
});

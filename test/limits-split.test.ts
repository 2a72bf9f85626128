import { Counter } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { OperationLimits } from '../src/limits';
import { WindowCounter } from '../src/limits/counter';
import { connectRedis, redisReady } from '../src/redis';
import { TEST_REDIS } from './support/harness';

// The account's count on a Redis that does not answer (nothing listens on port 1), the address's on
// the test Redis: as on a Cluster whose node holding the account's key is away.
const away = connectRedis({ url: 'redis://127.0.0.1:1' });
const here = connectRedis(TEST_REDIS);
const refusals = new Counter({ name: 'split_refusals', help: 'refusals', labelNames: ['limit'], registers: [] });
const prefix = `test:limits_split:${process.pid}:${Date.now()}`;
afterAll(() => {
  away.disconnect();
  here.disconnect();
});

describe('operation limits whose account and address counts are on different servers', () => {
  it('still refuse an address over its limit while the account count gets no answer (a Cluster); on one server they let it through at once', async () => {
    await redisReady(here);
    const limits = (ip: string, oneServer: boolean) =>
      new OperationLimits(new WindowCounter(away, 'account', `${prefix}:account`, 100, 60, refusals), new WindowCounter(here, 'ip', `${prefix}:ip:${ip}`, 2, 60, refusals), oneServer);
    const spread = limits('a', false);
    const verdicts = [];
    for (let i = 0; i < 3; i++) verdicts.push((await spread.check({ userId: 7, ip: '10.0.0.1' })).allowed);
    expect(verdicts).toEqual([true, true, false]);
    // One server: the account's silence is the address's too, and the request is not kept waiting twice.
    const single = limits('b', true);
    for (let i = 0; i < 3; i++) expect((await single.check({ userId: 7, ip: '10.0.0.1' })).allowed).toBe(true);
  });
});

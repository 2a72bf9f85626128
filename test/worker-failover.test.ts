import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { ENTER, LEAVE } from '../support/operations';
import { startTestServer, type TestServer } from './support/harness';
import { signUpMany, type Account } from './support/client';
import { spawnServer, type ServerProcess } from './support/process';
import { createConcert } from './support/fixtures';
import { queueStatusOf as state } from './support/booking';

const INTERVAL_MS = 100;

// The API server here works no jobs: the ticks come from two worker replicas, one of which dies.
let server: TestServer;
const workers: ServerProcess[] = [];

beforeAll(async () => {
  server = await startTestServer('worker_failover', { RUN_WORKERS: 'false', ADMISSION_INTERVAL_MS: String(INTERVAL_MS) });
  for (let i = 0; i < 2; i++) workers.push(await spawnServer({ ...server.env, RUN_WORKERS: 'true' }));
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await server.stop();
});

describe('a worker replica killed mid-sale', () => {
  it('leaves the ticks to the other one: fans keep being admitted, never past capacity', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const fans = (await signUpMany(new Api(server.url), 4)) as Account[];
    for (const fan of fans) await fan.api.data(ENTER, { id: concertId });
    await vi.waitFor(async () => expect((await state(fans[0]!, concertId)).state).toBe('ACTIVE'), { timeout: 5000 });

    workers[0]!.child.kill('SIGKILL');
    // Each slot handed on needs a tick; three in a row can only come from the surviving worker.
    for (const [i, fan] of fans.slice(0, -1).entries()) {
      await fan.api.data(LEAVE, { id: concertId });
      const next = fans[i + 1]!;
      await vi.waitFor(async () => expect((await state(next, concertId)).state).toBe('ACTIVE'), { timeout: 20 * INTERVAL_MS + 3000, interval: 50 });
      expect((await state(next, concertId)).active).toBe(1);
    }
  });
});

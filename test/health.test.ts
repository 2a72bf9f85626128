import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { startTestServer, type TestServer } from './support/harness';
import { RedisServer } from './support/redis-server';

// A Redis of our own, so this file can take it away and bring it back.
const redis = new RedisServer();
let server: TestServer;
let base: string;

beforeAll(async () => {
  await redis.start();
  server = await startTestServer('health', { REDIS_URL: redis.url });
  base = server.url.replace('/graphql', '');
});
afterAll(async () => {
  await server.stop();
  await redis.stop();
});

describe('health endpoints', () => {
  it('healthz and readyz answer 200 while MySQL and Redis answer; metrics speak Prometheus', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('# TYPE queue_admitted_total counter');
  });

  it('readyz stays 200 when MySQL has closed its idle probe connection (wait_timeout, a proxy, a KILL): it asks again on a new one', async () => {
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const connection = server.app.orm.em.getConnection();
    const idle = await connection.execute<{ id: number }[]>("SELECT id FROM information_schema.PROCESSLIST WHERE db = DATABASE() AND command = 'Sleep'");
    expect(idle.length).toBeGreaterThan(0);
    for (const { id } of idle) await connection.execute(`KILL CONNECTION ${Number(id)}`).catch(() => undefined);
    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('metrics need the METRICS_TOKEN bearer token when one is set (open otherwise, as above)', async () => {
    const guarded = await startTestServer('health', { REDIS_URL: redis.url, RUN_WORKERS: 'false', METRICS_TOKEN: 'scrape-me' }, { reset: false });
    try {
      const url = guarded.url.replace('/graphql', '/metrics');
      for (const authorization of [undefined, 'Bearer scrape-m', 'Bearer scrape-me2', 'scrape-me', 'Basic scrape-me', 'Bearer ']) {
        const refused = await fetch(url, { headers: authorization ? { authorization } : {} });
        expect(refused.status).toBe(401);
        expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(await refused.text()).not.toContain('queue_admitted_total');
      }
      const scraped = await fetch(url, { headers: { authorization: 'Bearer scrape-me' } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('# TYPE queue_admitted_total counter');
      // The scheme's name in any letter case (RFC 7235), as some scrapers send it.
      expect((await fetch(url, { headers: { authorization: 'bearer scrape-me' } })).status).toBe(200);
      // The probes stay open for the load balancer.
      expect((await fetch(url.replace('/metrics', '/readyz'))).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });

  it('readyz goes 503 when Redis is unreachable, requests get SERVICE_UNAVAILABLE, and both recover when it returns', async () => {
    const api = new Api(server.url);
    const { signUp } = await api.data<{ signUp: { token: string } }>('mutation { signUp(email: "h@example.test", password: "password-1") { token } }');
    const fan = api.as(signUp.token);
    const concert = await server.app.services.concerts.create({ title: 'C', venue: 'V', maxActiveUsers: 1, schedules: [{ startsAt: new Date(Date.UTC(2030, 0, 1)), seatCount: 1, price: 1 }] });
    await redis.stop();
    await vi.waitFor(async () => expect((await fetch(`${base}/readyz`)).status).toBe(503), { timeout: 5000, interval: 100 });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const took: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const body = await fan.request('mutation($id: ID!) { enterQueue(concertId: $id) { state } }', { id: String(concert.id) });
      took.push(Date.now() - started);
      expect(body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(JSON.stringify(body.errors)).not.toMatch(new RegExp(`${redis.port}|ECONNREFUSED|stack|test:health`));
    }
    // At once, not after the command timeout (2 s) a queue of commands offline would wait out: the median, as one slow answer on a busy host says nothing.
    expect(took.sort((a, b) => a - b)[2]).toBeLessThan(1000);
    await redis.start();
    await vi.waitFor(async () => expect((await fetch(`${base}/readyz`)).status).toBe(200), { timeout: 10_000, interval: 200 });
  });

  it('a replica stops within seconds while Redis is away (BullMQ alone would wait for it for ever)', async () => {
    const other = await startTestServer('health', { REDIS_URL: redis.url }, { reset: false });
    await redis.stop();
    try {
      const started = Date.now();
      await other.stop();
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      await redis.start();
    }
  }, 30_000);
});

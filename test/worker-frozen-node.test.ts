import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/logger';
import { connectRedis, redisKeys, redisReady, redisServes } from '../src/redis';
import { clusterNodes, masterOf, pidOf, redisCli, startCluster, stopCluster } from './support/cluster-nodes';
import { idleAfterMs, startRepeatingJob, stuckAfterMs, type RepeatingJob } from '../src/workers/repeating-job';

// A Redis Cluster of this file's own: the master of the job queues' slot is frozen (SIGSTOP) for good.
const BASE_PORT = 7800 + Math.floor(Math.random() * 15) * 10;
const EVERY_MS = 200;
let seeds: { host: string; port: number }[] = [];
const frozenPids: number[] = [];
const frozenPorts: number[] = [];
const freeze = (port: number) => {
  const pid = pidOf(port);
  frozenPids.push(pid);
  frozenPorts.push(port);
  process.kill(pid, 'SIGSTOP');
};

beforeAll(() => {
  seeds = startCluster(BASE_PORT);
}, 60_000);
afterAll(() => {
  for (const pid of frozenPids) process.kill(pid, 'SIGCONT');
  stopCluster(BASE_PORT);
});

describe("a Redis Cluster master of the job queues' slot that freezes", () => {
  it('stops the ticks only until its replica is promoted: the watchdog, whose own check hangs on the frozen node, starts the worker and queue anew', async () => {
    const bullPrefix = redisKeys(`frozen${BASE_PORT}`).bullPrefix;
    let runs = 0;
    const job: RepeatingJob = await startRepeatingJob({
      name: 'frozen-probe',
      everyMs: EVERY_MS,
      redis: { clusterNodes: seeds },
      prefix: bullPrefix,
      logger: createLogger('silent'),
      run: async () => void runs++,
    });
    try {
      await vi.waitFor(() => expect(runs).toBeGreaterThan(3), { timeout: 10_000, interval: 50 });
      const frozenPort = masterOf(bullPrefix, seeds[0]!.port) as number;
      freeze(frozenPort);
      const frozenAt = Date.now();
      const askPort = seeds.find((seed) => seed.port !== frozenPort)!.port;
      await vi.waitFor(() => expect(masterOf(bullPrefix, askPort)).not.toBe(frozenPort), { timeout: 20_000, interval: 200 });
      const promotedAfterMs = Date.now() - frozenAt;
      const before = runs;
      // Ticks again, with the node still frozen, well before the idle rule (30 s) would have acted.
      await vi.waitFor(() => expect(runs).toBeGreaterThan(before + 3), { timeout: 25_000, interval: 100 });
      expect(Date.now() - frozenAt).toBeLessThan(idleAfterMs(EVERY_MS));
      expect(stuckAfterMs(EVERY_MS)).toBe(10_000);
      expect(promotedAfterMs).toBeLessThan(10_000);
    } finally {
      await job.close();
    }
  }, 90_000);

  it("answers another frozen master's keys from its promoted replica while the old master stays frozen", async () => {
    const healthy = () => seeds.map((seed) => seed.port).filter((port) => !frozenPorts.includes(port));
    const key = Array.from({ length: 100 }, (_, i) => `{probe-${i}}`).find((candidate) => {
      const master = masterOf(candidate, healthy()[0]!);
      return master !== undefined && !frozenPorts.includes(master);
    })!;
    const client = connectRedis({ clusterNodes: seeds }, { commandTimeout: 2000 });
    try {
      await redisReady(client);
      expect(await client.set(key, 'before')).toBe('OK');
      const port = masterOf(key, healthy()[0]!)!;
      freeze(port);
      const askPort = healthy()[0]!;
      await vi.waitFor(() => expect(masterOf(key, askPort)).not.toBe(port), { timeout: 20_000, interval: 200 });
      const promotedAt = Date.now();
      // The same connection, the old master still frozen: its commands reach the promoted replica.
      await vi.waitFor(async () => expect(await client.set(key, 'after')).toBe('OK'), { timeout: 20_000, interval: 250 });
      expect(Date.now() - promotedAt).toBeLessThan(10_000);
    } finally {
      client.disconnect();
    }
  }, 60_000);

  it('is not ready (readyz) once a slot has no master left, though every live node still answers PING', async () => {
    const client = connectRedis({ clusterNodes: seeds }, { commandTimeout: 2000 });
    try {
      await redisReady(client);
      await redisServes(client);
      // A master still serving slots and its replica, killed: their slots are served by nobody.
      const askPort = seeds.map((seed) => seed.port).find((port) => !frozenPorts.includes(port))!;
      const nodes = clusterNodes(askPort);
      const serving = (id: string) => nodes.find((node) => node.id === id && node.flags.includes('master') && node.slots.length > 0 && !frozenPorts.includes(node.port));
      const replica = nodes.find((node) => node.flags.includes('slave') && !frozenPorts.includes(node.port) && serving(node.masterId))!;
      const master = serving(replica.masterId)!;
      for (const node of [master, replica]) process.kill(pidOf(node.port), 'SIGKILL');
      const live = seeds.map((seed) => seed.port).find((port) => !frozenPorts.includes(port) && port !== master.port && port !== replica.port)!;
      await vi.waitFor(() => expect(redisCli(live, 'cluster', 'info')).toMatch(/cluster_state:fail/), { timeout: 20_000, interval: 200 });
      expect(redisCli(live, 'ping').trim()).toBe('PONG');
      await expect(redisServes(client)).rejects.toThrow();
    } finally {
      client.disconnect();
    }
  }, 60_000);
});

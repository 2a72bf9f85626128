import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { queueSettings } from '../../src/app';
import { InventoryService } from '../../src/inventory/inventory-service';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/observability/metrics';
import { LiveQueueStatus } from '../../src/queue/live-status';
import { QueueService, watchBeat } from '../../src/queue/queue-service';
import { createRedis, redisReady, runScript, type RedisClient } from '../../src/redis';
import { QUEUE_STATUS } from '../../src/redis/queue-scripts';
import { SeatCatalog } from '../../src/seats/seat-catalog';
import type { BenchContext, Scenario } from '../lib/context';
import { ratioStatus, row, type Row } from '../lib/report';
import { fmtMs, fmtNumber, fmtRatio, freePort, median, sleep, stopChild, wallMs } from '../lib/util';

const ADMITTED_PER_TICK = 100;
const STATUS_BATCH = 5000;

/** Microseconds Redis has spent in commands since it started (INFO commandstats, every command but INFO itself). */
async function commandMicros(redis: RedisClient): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=\d+,usec=(\d+),/gm)) if (match[1] !== 'info') total += Number(match[2]);
  return total;
}

/** A private Redis on a free loopback port: nothing else's commands count in its INFO commandstats. */
async function privateRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  const url = `redis://127.0.0.1:${port}`;
  const probe = createRedis({ url }, { enableOfflineQueue: true });
  await redisReady(probe);
  probe.disconnect();
  return { url, stop: () => stopChild(child, exited) };
}

/**
 * The live status push's Redis cost per admission tick, by how many fans are watched. Real code,
 * without 100,000 sockets: the bench process runs QueueService and LiveQueueStatus (what each
 * replica runs) on a private Redis, with every watched fan subscribed in-process (the same watch()
 * a graphql-ws subscription calls; only the socket write is missing). Two concerts, 10,000 and
 * 100,000 fans waiting and watched; each tick admits 100 (their active set emptied before, behind
 * the feed's back, so those fans stay ACTIVE to it and are not pushed again), which moves every
 * waiting fan up, so every one of them gets a new status. Redis time is the growth of
 * INFO commandstats' usec over the tick and the push that follows (admission script, inventory
 * reads, the feed read); the sizes alternate. Beside it, a baseline design's per-tick cost: one
 * status script call per 5,000 watched fans (one ZRANK each), on the same data.
 */
export const statusRefresh: Scenario = {
  name: 'statusRefresh',
  title: 'Redis time per admission tick and live push, 100,000 vs 10,000 watched fans',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { control, options } = ctx;
    const sizes = [10_000, options.quick ? 30_000 : 100_000];
    const ticks = 5 * options.runs;
    const server = await privateRedis();
    const config = control.config;
    const redis = createRedis({ url: server.url }, { enableAutoPipelining: true });
    const subscriber = createRedis({ url: server.url }, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    const logger = createLogger('warn');
    const metrics = createMetrics();
    const queue = new QueueService(redis, control.keys, control.concerts, new InventoryService(redis, control.keys, new SeatCatalog(control.orm), control.concerts, logger), metrics, queueSettings(config), logger);
    const live = new LiveQueueStatus(queue, subscriber, control.keys.channels.queueTicks, watchBeat(config.presenceGraceSeconds).intervalMs, metrics, logger);
    try {
      await Promise.all([redis, subscriber].map(redisReady));
      await live.start();
      const pushes = async () => (await metrics.statusPushes.get()).values[0]?.value ?? 0;
      const concerts = [];
      let member = 200_000_000;
      for (const size of sizes) {
        const { concertId } = await control.concert(ADMITTED_PER_TICK, 1000);
        const k = control.keys.queue(concertId);
        await redis.set(k.sales, 'open');
        const started = wallMs();
        const fans = Array.from({ length: size }, () => member++);
        // As the enter script does: tickets in order, all seen now.
        for (let i = 0; i < fans.length; i += 1000) {
          const batch = fans.slice(i, i + 1000);
          await redis.zadd(k.wait, ...batch.flatMap((fan, j) => [i + j + 1, fan]));
        }
        await redis.set(k.seq, fans.length);
        const streams = await Promise.all(fans.map((fan) => live.watch(fan, concertId)));
        ctx.detail('statusRefresh', `${fmtNumber(size)} fans waiting and watched in ${fmtMs(wallMs() - started)}`);
        concerts.push({ size, concertId, k, fans, streams, micros: [] as number[], pushMs: [] as number[], previousMicros: [] as number[] });
      }
      for (let tick = -1; tick < ticks; tick++) {
        for (const concert of concerts) {
          await redis.del(concert.k.active, concert.k.activeSeen, control.keys.queueIndex);
          await redis.sadd(control.keys.queueIndex, concert.concertId);
          const waitingBefore = await redis.zcard(concert.k.wait);
          const pushedBefore = await pushes();
          const before = await commandMicros(redis);
          const t0 = wallMs();
          await queue.admitTick();
          // Every watcher still waiting moves up by 100; those admitted turn ACTIVE: all get a status.
          const expected = Math.min(waitingBefore, concert.size);
          while ((await pushes()) - pushedBefore < expected) await sleep(2);
          const pushMs = wallMs() - t0;
          const spent = (await commandMicros(redis)) - before;
          // The baseline design (a per-fan refresh), on the same line: a status script per 5,000 watched fans.
          const previousBefore = await commandMicros(redis);
          for (let i = 0; i < concert.fans.length; i += STATUS_BATCH) await runScript(redis, QUEUE_STATUS, concert.k, ...concert.fans.slice(i, i + STATUS_BATCH));
          const previous = (await commandMicros(redis)) - previousBefore;
          if (tick >= 0) {
            concert.micros.push(spent);
            concert.pushMs.push(pushMs);
            concert.previousMicros.push(previous);
          }
        }
      }
      const [small, large] = concerts as [(typeof concerts)[0], (typeof concerts)[0]];
      const ratio = median(large.micros.map((m, i) => m / (small.micros[i] as number)));
      const list = (xs: number[]) => xs.map((x) => fmtNumber(Math.round(x))).join(', ');
      for (const c of concerts) {
        ctx.detail(
          'statusRefresh',
          `${fmtNumber(c.size)} watched: Redis µs per tick ${list(c.micros)}; tick → last push ${c.pushMs.map((x) => fmtMs(x)).join(', ')}; baseline design's status calls ${list(c.previousMicros)} µs`,
        );
      }
      return [
        row({
          scenario: 'statusRefresh',
          metric: `Redis time per tick + push, ${fmtNumber(large.size)} watched`,
          result: `${fmtMs(median(large.micros) / 1000)}`,
          baseline: `${fmtMs(median(small.micros) / 1000)} (${fmtNumber(small.size)} watched)`,
          ratio: fmtRatio(ratio),
          goal: '≤ 1.5×',
          status: ratioStatus(ratio, 1.5, 'atMost'),
        }),
        row({
          scenario: 'statusRefresh',
          metric: `baseline design (a ZRANK per watched fan), ${fmtNumber(large.size)} watched`,
          result: `${fmtMs(median(large.previousMicros) / 1000)}`,
          baseline: `${fmtMs(median(small.previousMicros) / 1000)} (${fmtNumber(small.size)} watched)`,
          ratio: fmtRatio(median(large.previousMicros.map((m, i) => m / (small.previousMicros[i] as number)))),
        }),
        row({
          scenario: 'statusRefresh',
          metric: `tick → every watcher pushed (in-process, no sockets), ${fmtNumber(large.size)} watched`,
          result: fmtMs(median(large.pushMs)),
          baseline: `${fmtMs(median(small.pushMs))} (${fmtNumber(small.size)} watched)`,
          ratio: '',
        }),
      ];
    } finally {
      live.stop();
      redis.disconnect();
      subscriber.disconnect();
      await server.stop();
    }
  },
};

import type { BenchContext, Scenario } from '../lib/context';
import { ratioStatus, row, type Row } from '../lib/report';
import { fmtMs, fmtNumber, fmtRatio, median, wallMs } from '../lib/util';

const ADMITTED_PER_TICK = 1000;

/**
 * QueueService.admitTick() called directly: the bench's control plane is the same class on the same
 * database and Redis, and no server runs, so nothing else touches the queues. Two concerts with
 * maxActiveUsers = 1,000: one whose wait ZSET holds 10,000, one with 1,000,000. The tick visits the
 * concerts in the queue index, so the bench lists only one of them before each tick and alternates
 * (drift on a noisy machine hits both sizes alike). Before every tick the concert's active set is
 * emptied and its queue topped up to its size, so every timed tick admits exactly 1,000.
 */
export const admissionTick: Scenario = {
  name: 'admissionTick',
  title: 'QueueService.admitTick() with 1,000,000 waiting vs 10,000 waiting, 1,000 admitted per tick',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { control, options } = ctx;
    await control.resetRedis();
    const large = options.quick ? 100_000 : 1_000_000;
    const small = 10_000;
    const ticks = 5 * options.runs + 1;
    // Member names like user IDs; the script never looks them up anywhere.
    let member = 100_000_000;
    const nextMember = () => member++;
    const queues = await Promise.all([small, large].map(async (size) => ({ size, concertId: (await control.concert(ADMITTED_PER_TICK)).concertId, times: [] as number[] })));
    for (const queue of queues) {
      const started = wallMs();
      await control.fillWaiting(queue.concertId, Array.from({ length: queue.size }, nextMember));
      ctx.detail('admissionTick', `filled a wait queue with ${fmtNumber(queue.size)} in ${fmtMs(wallMs() - started)} (pipelined ZADD, 1,000 members each)`);
    }
    // Tick -1 warms up; then the two sizes alternate.
    for (let tick = -1; tick < ticks; tick++) {
      for (const queue of queues) {
        const k = control.keys.queue(queue.concertId);
        await control.redis.del(k.active, control.keys.queueIndex);
        const missing = queue.size - (await control.redis.zcard(k.wait));
        await control.fillWaiting(queue.concertId, Array.from({ length: missing }, nextMember));
        await control.redis.sadd(control.keys.queueIndex, queue.concertId);
        const t0 = wallMs();
        await control.queue.admitTick();
        const dt = wallMs() - t0;
        const [admitted, waiting] = await Promise.all([control.redis.zcard(k.active), control.redis.zcard(k.wait)]);
        if (admitted !== ADMITTED_PER_TICK || waiting !== queue.size - ADMITTED_PER_TICK) {
          throw new Error(`tick admitted ${admitted}, left ${waiting} waiting (expected ${ADMITTED_PER_TICK}, ${queue.size - ADMITTED_PER_TICK})`);
        }
        if (tick >= 0) queue.times.push(dt);
      }
    }
    await control.resetRedis();
    const [smallQ, largeQ] = queues as [(typeof queues)[0], (typeof queues)[0]];
    const smallMs = median(smallQ.times);
    const largeMs = median(largeQ.times);
    // Median of per-pair ratios (each 1M tick with the 10k tick just before it).
    const ratio = median(largeQ.times.map((t, i) => t / (smallQ.times[i] as number)));
    const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    ctx.detail('admissionTick', `tick times (ms) with ${fmtNumber(small)} waiting: ${list(smallQ.times)}; with ${fmtNumber(large)} waiting: ${list(largeQ.times)}`);
    return [
      row({
        scenario: 'admissionTick',
        metric: `tick, ${fmtNumber(large)} waiting`,
        result: fmtMs(largeMs),
        baseline: `${fmtMs(smallMs)} (${fmtNumber(small)} waiting)`,
        ratio: fmtRatio(ratio),
        goal: '≤ 1.5×',
        status: ratioStatus(ratio, 1.5, 'atMost'),
      }),
    ];
  },
};

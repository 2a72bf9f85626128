import type { BenchContext, Scenario } from '../lib/context';
import { ratioStatus, row, type Row } from '../lib/report';
import { fmtMs, fmtNumber, fmtRatio, median, wallMs } from '../lib/util';

const ADMITTED_PER_TICK = 1000;
/** Share of the large queue that has gone absent. */
const ABSENT_SHARE = 0.1;
const HOUR_MS = 3_600_000;

/**
 * QueueService.admitTick() called directly: the bench's control plane is the same class on the same
 * database and Redis, and no server runs, so nothing else touches the queues. Two concerts with
 * maxActiveUsers = 1,000 and as many seats: one whose wait ZSET holds 10,000 fans, all present; one with 1,000,000, of
 * whom 10% have gone absent. Absent fans lapse steadily: with the production grace and tick period,
 * 100,000 absent spread over a 60 s grace lapse at 1,667 per 1 s tick, so before each of its ticks
 * that many absent fans' last sign of presence is set past the grace (from the back of the line, so
 * they are still waiting), and the tick drops them. Every other fan was seen recently. The tick
 * visits the concerts in the queue index, so the bench lists only one of them before each tick and
 * alternates (drift on a noisy machine hits both sizes alike). Before every tick the concert's
 * active set is emptied and its queue topped up to its size, so every timed tick admits exactly 1,000.
 */
export const admissionTick: Scenario = {
  name: 'admissionTick',
  title: 'QueueService.admitTick() with 1,000,000 waiting (10% absent, lapsing) vs 10,000 waiting, 1,000 admitted per tick',
  async run(ctx: BenchContext): Promise<Row[]> {
    const { control, options } = ctx;
    await control.resetRedis();
    const large = options.quick ? 100_000 : 1_000_000;
    const small = 10_000;
    const ticks = 5 * options.runs + 1;
    const graceMs = control.config.presenceGraceSeconds * 1000;
    const absentCount = Math.round(large * ABSENT_SHARE);
    const lapsingPerTick = Math.round(absentCount / (graceMs / control.config.admissionIntervalMs));
    // Member names like user IDs; the script never looks them up anywhere.
    let member = 100_000_000;
    const nextMember = () => member++;
    const [seconds] = await control.redis.time();
    // Seen "now" for the bench's whole length (it takes far less than an hour): present fans never lapse.
    const recently = Number(seconds) * 1000 + HOUR_MS;
    const queues = await Promise.all(
      [small, large].map(async (size) => ({ size, concertId: (await control.concert(ADMITTED_PER_TICK, ADMITTED_PER_TICK)).concertId, times: [] as number[], absent: [] as number[] })),
    );
    for (const queue of queues) {
      const started = wallMs();
      const members = Array.from({ length: queue.size }, nextMember);
      // Every tenth fan of the large queue is absent; theirs is an older sign, not yet past the grace.
      const absent = (index: number) => queue.size === large && index % Math.round(1 / ABSENT_SHARE) === 0;
      await control.fillWaiting(queue.concertId, members, (index) => (absent(index) ? recently - HOUR_MS / 2 - (index % 1000) : recently - (index % 1000)));
      queue.absent = members.filter((_, index) => absent(index)).reverse();
      ctx.detail('admissionTick', `filled a wait queue with ${fmtNumber(queue.size)} in ${fmtMs(wallMs() - started)} (pipelined ZADD, 1,000 members each, with their presence)`);
    }
    // Tick -1 warms up; then the two sizes alternate.
    let dropped = 0;
    for (let tick = -1; tick < ticks; tick++) {
      for (const queue of queues) {
        const k = control.keys.queue(queue.concertId);
        await control.redis.del(k.active, k.activeSeen, control.keys.queueIndex);
        const missing = queue.size - (await control.redis.zcard(k.wait));
        await control.fillWaiting(
          queue.concertId,
          Array.from({ length: missing }, nextMember),
          () => recently,
        );
        const lapsing = queue.absent.splice(0, queue.size === large ? lapsingPerTick : 0);
        if (lapsing.length > 0) {
          const [now] = await control.redis.time();
          const past = Number(now) * 1000 - graceMs - 1000;
          await control.redis.zadd(k.seen, ...lapsing.flatMap((fan, i) => [past - i, fan]));
        }
        await control.redis.sadd(control.keys.queueIndex, queue.concertId);
        const t0 = wallMs();
        await control.queue.admitTick();
        const dt = wallMs() - t0;
        const [admitted, waiting] = await Promise.all([control.redis.zcard(k.active), control.redis.zcard(k.wait)]);
        const expectedWaiting = queue.size - ADMITTED_PER_TICK - lapsing.length;
        if (admitted !== ADMITTED_PER_TICK || waiting !== expectedWaiting) {
          throw new Error(`tick admitted ${admitted}, left ${waiting} waiting (expected ${ADMITTED_PER_TICK}, ${expectedWaiting})`);
        }
        if (tick >= 0) queue.times.push(dt);
        if (tick >= 0) dropped += lapsing.length;
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
    ctx.detail('admissionTick', `${fmtNumber(absentCount)} of ${fmtNumber(large)} absent; ${fmtNumber(lapsingPerTick)} dropped per timed tick (${fmtNumber(dropped)} in all)`);
    return [
      row({
        scenario: 'admissionTick',
        metric: `tick, ${fmtNumber(large)} waiting, 10% absent (${fmtNumber(lapsingPerTick)} dropped per tick)`,
        result: fmtMs(largeMs),
        baseline: `${fmtMs(smallMs)} (${fmtNumber(small)} waiting, all present)`,
        ratio: fmtRatio(ratio),
        goal: '≤ 1.5×',
        status: ratioStatus(ratio, 1.5, 'atMost'),
      }),
    ];
  },
};

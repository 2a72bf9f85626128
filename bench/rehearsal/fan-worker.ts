/**
 * A fan worker process (forked by the rehearsal): receives its share of the plans and the stage,
 * plays them, and sends the logs back over IPC.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { playFans, type FanLog, type Stage } from './fan';
import type { FanPlan } from './plan';

/** What the worker itself cost: to tell the fans' own delays from the service's. */
export interface WorkerLoad {
  fans: number;
  cpuSeconds: number;
  /** Event-loop delay while playing (ms): a late callback here is a late fan, not a slow service. */
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  peakRssMiB: number;
}

export type WorkerCommand = { type: 'play'; plans: FanPlan[]; stage: Stage };
export type WorkerReply = { type: 'ready' } | { type: 'done'; logs: FanLog[]; load: WorkerLoad } | { type: 'failed'; error: string };

process.on('message', (command: WorkerCommand) => {
  if (command.type !== 'play') return;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const cpu = process.cpuUsage();
  playFans(command.plans, command.stage).then(
    (logs) => {
      delay.disable();
      const used = process.cpuUsage(cpu);
      const load: WorkerLoad = {
        fans: command.plans.length,
        cpuSeconds: (used.user + used.system) / 1e6,
        loopDelayP50Ms: delay.percentile(50) / 1e6,
        loopDelayP99Ms: delay.percentile(99) / 1e6,
        loopDelayMaxMs: delay.max / 1e6,
        peakRssMiB: process.resourceUsage().maxRSS / 1024,
      };
      process.send?.({ type: 'done', logs, load } satisfies WorkerReply, () => process.exit(0));
    },
    (error: unknown) => process.send?.({ type: 'failed', error: String((error as Error)?.stack ?? error) } satisfies WorkerReply, () => process.exit(1)),
  );
});
process.send?.({ type: 'ready' } satisfies WorkerReply);

/**
 * A fan worker process (forked by the rehearsal): receives its share of the plans and the stage,
 * plays them, and sends the logs back over IPC.
 */
import { playFans, type FanLog, type Stage } from './fan';
import type { FanPlan } from './plan';

export type WorkerCommand = { type: 'play'; plans: FanPlan[]; stage: Stage };
export type WorkerReply = { type: 'ready' } | { type: 'done'; logs: FanLog[] } | { type: 'failed'; error: string };

process.on('message', (command: WorkerCommand) => {
  if (command.type !== 'play') return;
  playFans(command.plans, command.stage).then(
    (logs) => process.send?.({ type: 'done', logs } satisfies WorkerReply, () => process.exit(0)),
    (error: unknown) => process.send?.({ type: 'failed', error: String((error as Error)?.stack ?? error) } satisfies WorkerReply, () => process.exit(1)),
  );
});
process.send?.({ type: 'ready' } satisfies WorkerReply);

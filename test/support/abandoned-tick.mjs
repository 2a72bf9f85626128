/* global process, setTimeout, console */
// A replica's repeating job whose tick outlasts the close (the worker is let go, its connections
// cut), and whose tick then ends (`completes` or `fails`): exits 0 once a timer still fires after
// that end. BullMQ retried telling the job's outcome on the cut connection with no pause, for ever,
// which starved the event loop (no timer, the exit deadline included, ever fired again).
// Usage: node abandoned-tick.mjs '<RedisTarget JSON>' <prefix> completes|fails (needs npm run build).
import { createLogger } from '../../dist/src/logger.js';
import { startRepeatingJob } from '../../dist/src/workers/repeating-job.js';

const [target, prefix, outcome] = process.argv.slice(2);
let end;
const job = await startRepeatingJob({
  name: 'abandon-probe',
  everyMs: 100,
  redis: JSON.parse(target),
  prefix,
  logger: createLogger('silent'),
  run: () => new Promise((resolve, reject) => (end ??= () => (outcome === 'fails' ? reject(new Error('MySQL went away')) : resolve(undefined)))),
});
while (!end) await new Promise((resolve) => setTimeout(resolve, 20));
await job.close();
end();
await new Promise((resolve) => setTimeout(resolve, 500));
console.log('timers still fire');
process.exit(0);

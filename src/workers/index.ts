import type { Config } from '../config';
import type { Services } from '../services';
import type { Logger } from '../logger';
import { redisKeys } from '../redis';
import { startRepeatingJob, type RepeatingJob } from './repeating-job';

/** Admission ticks between two checks of the seat counts against MySQL (InventoryService.reconcile). */
const INVENTORY_CHECK_TICKS = 10;

/** The BullMQ job schedulers this replica works on (RUN_WORKERS=true). */
export async function startWorkers(config: Config, services: Services, logger: Logger): Promise<RepeatingJob[]> {
  const common = { redis: config.redis, prefix: redisKeys(config.redisPrefix).bullPrefix, logger };
  return Promise.all([
    startRepeatingJob({ ...common, name: 'admission', everyMs: config.admissionIntervalMs, run: () => services.queue.admitTick() }),
    startRepeatingJob({ ...common, name: 'hold-expiry', everyMs: config.admissionIntervalMs, run: () => services.holds.sweep() }),
    // Rare repairs (a seat count whose update was lost, the holds of a sale whose follow-up was lost), so
    // every ten ticks: a few SQL queries per check.
    startRepeatingJob({
      ...common,
      name: 'inventory-check',
      everyMs: config.admissionIntervalMs * INVENTORY_CHECK_TICKS,
      run: async () => services.holds.releaseSold(await services.queue.checkInventory()),
    }),
  ]);
}

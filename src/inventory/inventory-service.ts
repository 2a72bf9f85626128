import { SharedReads } from '../caching/shared-reads';
import type { ConcertService, ScheduleSize } from '../concerts/concert-service';
import type { Logger } from '../logger';
import { runScript, type RedisClient, type RedisKeys } from '../redis';
import { INVENTORY_MARK, INVENTORY_READ, INVENTORY_REBUILD } from '../redis/inventory-scripts';
import { groupBySchedule } from '../seats/seat';
import type { SeatCatalog } from '../seats/seat-catalog';
import { inventoryOf, sumInventories, type Inventory } from './inventory';

/** Seat numbers per rebuild script call, so a 100,000-seat schedule never blocks Redis in one call. */
const REBUILD_CHUNK = 10_000;

/** A seat as the inventory counts it: by its number within its schedule. */
export interface CountedSeat {
  scheduleId: number;
  number: number;
}

/**
 * How many seats are left, per schedule and per concert, without counting rows on each read.
 *
 * Per schedule, Redis keeps a bitmap of its reserved seats (set after a sale commits, cleared after a
 * cancellation commits) beside its holds; one script reads both: reserved = the bitmap's count, held =
 * live holds. MySQL stays the truth: a bitmap Redis lost (or never had) reads as unknown, never as
 * "nothing sold", and is rebuilt from MySQL by ORing its reserved seats in. Setting bits commutes with
 * that, so a sale landing during a rebuild is kept either way. A line is closed (sold out) only while
 * MySQL itself confirms it (confirmSoldOut), and bitmaps that keep disagreeing with MySQL's counts are
 * rebuilt (reconcile): an update lost between a commit and Redis is healed, not kept.
 */
export class InventoryService {
  /** Rebuilds under way, by schedule: readers that find a bitmap missing meanwhile wait for it. */
  private readonly rebuilds = new SharedReads<number>();
  /** Schedules whose bitmap disagreed with MySQL at the last check (see reconcile). */
  private disagreeing = new Set<number>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly catalog: SeatCatalog,
    private readonly concerts: ConcertService,
    private readonly logger: Logger,
  ) {}

  /** The schedules' inventories, in order: one script each (sent together), plus one SQL query for any unknown. */
  async ofSchedules(schedules: readonly ScheduleSize[]): Promise<Inventory[]> {
    const reads = await this.read(schedules.map((schedule) => schedule.id));
    const unknown = schedules.filter((_, i) => (reads[i]?.[0] ?? -1) < 0).map((schedule) => schedule.id);
    await this.rebuilds.await(unknown, (missing) => this.rebuild(missing));
    const rebuilt = unknown.length > 0 ? await this.read(unknown) : [];
    const reservedOf = new Map(unknown.map((id, i) => [id, rebuilt[i]?.[0] ?? -1]));
    return schedules.map((schedule, i) => {
      const [reserved = -1, held = 0] = reads[i] ?? [];
      return inventoryOf(schedule.totalSeats, reserved >= 0 ? reserved : Math.max(reservedOf.get(schedule.id) ?? 0, 0), held);
    });
  }

  /** Each concert's inventory (all its schedules together); no SQL once the schedules are known and the bitmaps complete. */
  async ofConcerts(concertIds: readonly number[]): Promise<Map<number, Inventory>> {
    const sizes = await this.concerts.scheduleSizes(concertIds);
    const schedules = [...new Map([...sizes.values()].flat().map((schedule) => [schedule.id, schedule])).values()];
    const each = await this.ofSchedules(schedules);
    const byId = new Map(schedules.map((schedule, i) => [schedule.id, each[i] as Inventory]));
    return new Map(concertIds.map((id) => [id, sumInventories((sizes.get(id) ?? []).flatMap((schedule) => byId.get(schedule.id) ?? []))]));
  }

  /** After a commit: these seats are now reserved (`reserved` true) or free again. */
  async mark(seats: readonly CountedSeat[], reserved: boolean): Promise<void> {
    const bySchedule = groupBySchedule(seats, (seat) => seat.number);
    await Promise.all([...bySchedule].map(([scheduleId, numbers]) => runScript(this.redis, INVENTORY_MARK, this.keys.inventory(scheduleId), reserved ? 1 : 0, ...numbers)));
  }

  /**
   * Of these concerts (whose bitmaps say sold out), those MySQL confirms: every seat CONFIRMED. A
   * bitmap claiming more than MySQL (a cancellation cleared its bit while it was being rebuilt, or
   * its update never came) is dropped, to be rebuilt at its next read. One SQL query.
   */
  async confirmSoldOut(concertIds: readonly number[]): Promise<Set<number>> {
    const sizes = await this.concerts.scheduleSizes(concertIds);
    const schedules = [...sizes.values()].flat();
    if (schedules.length === 0) return new Set();
    const counts = await this.catalog.reservedCounts(schedules.map((schedule) => schedule.id));
    const shortIds = new Set(schedules.filter((schedule) => (counts.get(schedule.id) ?? 0) < schedule.totalSeats).map((schedule) => schedule.id));
    await this.drop([...shortIds], 'inventory claimed more reserved seats than MySQL; rebuilding it');
    return new Set(concertIds.filter((id) => (sizes.get(id) ?? []).length > 0 && !(sizes.get(id) ?? []).some((schedule) => shortIds.has(schedule.id))));
  }

  /**
   * Checks the bitmaps of these concerts' schedules against MySQL's reserved counts, and drops those
   * that disagreed at the previous check too (to be rebuilt at their next read). A sale whose bit was
   * never set (Redis failed, or the process died, between the commit and `mark`) would otherwise read
   * as a seat left for good, and the concert would never sell out; a cancellation whose bit was never
   * cleared would keep a closed line closed. One disagreement alone can be a commit whose bit is on
   * its way, hence the second look. Returns the schedules dropped.
   */
  async reconcile(concertIds: readonly number[]): Promise<number[]> {
    const schedules = [...(await this.concerts.scheduleSizes(concertIds)).values()].flat();
    if (schedules.length === 0) return [];
    const ids = schedules.map((schedule) => schedule.id);
    const counts = await this.catalog.reservedCounts(ids);
    const reads = await this.read(ids);
    // A bitmap being rebuilt (reserved -1) is not judged.
    const disagreeing = ids.filter((id, i) => (reads[i]?.[0] ?? -1) >= 0 && reads[i]?.[0] !== (counts.get(id) ?? 0));
    const previously = this.disagreeing;
    const wrong = disagreeing.filter((id) => previously.has(id));
    this.disagreeing = new Set(disagreeing.filter((id) => !previously.has(id)));
    await this.drop(wrong, 'seat inventory disagreed with MySQL twice in a row; rebuilding it');
    return wrong;
  }

  /** Each schedule's {reserved (-1 while unknown), held}: one script each, sent together. */
  private read(scheduleIds: readonly number[]): Promise<[reserved: number, held: number][]> {
    return Promise.all(scheduleIds.map((id) => runScript(this.redis, INVENTORY_READ, this.keys.inventory(id))));
  }

  /** Drops these schedules' bitmaps, to be rebuilt from MySQL at their next read. */
  private async drop(scheduleIds: readonly number[], why: string): Promise<void> {
    if (scheduleIds.length === 0) return;
    this.logger.warn({ schedules: scheduleIds }, why);
    // One DEL per key: each schedule's key lives in its own slot on a cluster.
    await Promise.all(scheduleIds.map((id) => this.redis.del(this.keys.inventory(id).sold)));
  }

  /** Rebuilds the schedules' bitmaps from MySQL. */
  private async rebuild(scheduleIds: number[]): Promise<void> {
    const numbers = await this.catalog.reservedNumbers(scheduleIds);
    this.logger.info({ schedules: scheduleIds }, 'rebuilding seat inventory from MySQL');
    await Promise.all(
      scheduleIds.map(async (id) => {
        const k = this.keys.inventory(id);
        const seats = numbers.get(id) ?? [];
        let start = 0;
        for (; seats.length - start > REBUILD_CHUNK; start += REBUILD_CHUNK) await runScript(this.redis, INVENTORY_REBUILD, k, 0, ...seats.slice(start, start + REBUILD_CHUNK));
        await runScript(this.redis, INVENTORY_REBUILD, k, 1, ...seats.slice(start));
      }),
    );
  }
}

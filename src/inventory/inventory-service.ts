import { SharedReads } from '../caching/shared-reads';
import type { ConcertService, ScheduleSize } from '../concerts/concert-service';
import type { Logger } from '../logger';
import { runScript, serverRunIds, type RedisClient, type RedisKeys } from '../redis';
import { INVENTORY_MARK, INVENTORY_READ, INVENTORY_REBUILD } from '../redis/inventory-scripts';
import { groupBySchedule } from '../seats/seat';
import type { SeatCatalog } from '../seats/seat-catalog';
import { inventoryOf, sumInventories, type Inventory } from './inventory';
import { sharedNow } from '../redis/clock';

/**
 * How old a sale or cancellation must be before the check expects its seat count updated. Its
 * update follows the commit within milliseconds, but a reservation's created_at is taken when its
 * transaction starts, and each statement may wait up to MYSQL_STATEMENT_TIMEOUT_MS (10 s) for a lock.
 * Too short only costs a needless rebuild (a rebuild from MySQL is always right), too long keeps a
 * count whose update was lost wrong for as long: a seat hidden, a sold-out line closed over a
 * cancelled seat.
 */
export const SETTLE_SECONDS = 30;

/**
 * How long the check keeps looking at a concert noted changing (noteChanging): the settle window
 * counts from the reservation's own time, which may come a while after the note (lock waits, each
 * statement up to MYSQL_STATEMENT_TIMEOUT_MS), so the note outlasts it by two windows more.
 */
const CHANGE_WATCH_MS = 3 * SETTLE_SECONDS * 1000;

/** Concerts noted changing, as read by one check; those noted before `settledBefore` it may forget after it. */
export interface ChangeNotes {
  concertIds: number[];
  settledBefore: number;
}

/** Rebuilds a read may wait for before it counts a bitmap that keeps being dropped in MySQL. */
const REBUILD_ATTEMPTS = 2;

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
 * "nothing sold", and is rebuilt from MySQL by ORing its reserved seats in; a sale or cancellation
 * landing during a rebuild is kept either way (INVENTORY_REBUILD leaves a seat freed since alone). A line is closed (sold out) only while
 * MySQL itself confirms it (confirmSoldOut), and bitmaps that disagree with MySQL beyond the commits
 * under way are rebuilt (reconcile): an update lost between a commit and Redis is healed, not kept.
 */
export class InventoryService {
  /** Rebuilds under way, by schedule: readers that find a bitmap missing meanwhile wait for it. */
  private readonly rebuilds = new SharedReads<number>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly catalog: SeatCatalog,
    private readonly concerts: ConcertService,
    private readonly logger: Logger,
  ) {}

  /** The schedules' inventories, in order: one script each (sent together), plus one SQL query for any unknown. */
  async ofSchedules(schedules: readonly ScheduleSize[]): Promise<Inventory[]> {
    const ids = schedules.map((schedule) => schedule.id);
    const reads = await this.read(ids);
    const rebuiltIds = new Set<number>();
    // A bitmap can be dropped again (by another process's check) between its rebuild and the read
    // after it: rebuilt once more then, and if still unknown, its count comes from MySQL itself.
    // Unknown is never read as "nothing sold", nor as "all sold".
    for (let attempt = 1; ; attempt++) {
      const unknown = ids.flatMap((_, i) => ((reads[i]?.[0] ?? -1) < 0 ? [i] : []));
      if (unknown.length === 0) break;
      const unknownIds = unknown.map((i) => ids[i] as number);
      for (const id of unknownIds) rebuiltIds.add(id);
      if (attempt > REBUILD_ATTEMPTS) {
        const counts = await this.catalog.reservedCounts(unknownIds);
        unknown.forEach((i) => (reads[i] = [counts.get(ids[i] as number) ?? 0, reads[i]?.[1] ?? 0]));
        break;
      }
      await this.rebuilds.await(unknownIds, (missing) => this.rebuild(missing));
      const rebuilt = await this.read(unknownIds);
      unknown.forEach((i, j) => (reads[i] = rebuilt[j] as [number, number]));
    }
    const inventories = schedules.map((schedule, i) => {
      const [reserved, held] = reads[i] as [number, number];
      return inventoryOf(schedule.totalSeats, reserved, held);
    });
    const soldOutAgain = ids.filter((id, i) => rebuiltIds.has(id) && inventories[i]?.soldOut);
    if (soldOutAgain.length > 0) await this.recordRebuiltSoldOut(soldOutAgain);
    return inventories;
  }

  /**
   * Schedules whose counts, rebuilt from MySQL (Redis lost them), read sold out: their concerts, if
   * sold out whole, are recorded for the check again (rememberSoldOut), as the sale that sold them
   * out did before Redis lost that record too; else a cancellation whose update is lost next would
   * keep such a concert sold out for good, with nobody in line to make a tick look.
   */
  private async recordRebuiltSoldOut(scheduleIds: number[]): Promise<void> {
    try {
      const concertIds = [...new Set((await this.concerts.findSchedules(scheduleIds)).flatMap((schedule) => (schedule ? [schedule.concert.id] : [])))];
      await this.recordIfSoldOut(concertIds);
    } catch (error) {
      this.logger.warn({ err: error, schedules: scheduleIds }, 'could not record the concerts of rebuilt sold-out schedules for the inventory check');
    }
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
   * Checks the bitmaps of these concerts' schedules against MySQL, and drops those that disagree
   * (to be rebuilt at their next read). A sale whose bit was never set (Redis failed, or the process
   * died, between the commit and `mark`) would otherwise read as a seat left for good, and the
   * concert would never sell out; a cancellation whose bit was never cleared would keep a closed line
   * closed. Commits whose bits are on their way are not disagreements: the bitmap is read first, then
   * MySQL gives the bounds it must lie within, allowing for sales and cancellations of the last
   * SETTLE_SECONDS (a busy on-sale always has some in flight, and rebuilding its bitmaps on every
   * replica at its peak would be the wrong repair). After a Redis server restarted or failed over,
   * every upcoming show's bitmap is rebuilt (serversRestarted). Returns the concerts with a schedule dropped.
   */
  async reconcile(concertIds: readonly number[]): Promise<number[]> {
    if (await this.serversRestarted()) {
      // Every show still to come, not only the concerts checked: a line that began, or a sale made,
      // after the snapshot is not in the restored indexes that list them.
      await this.drop(await this.concerts.upcomingScheduleIds(), 'a Redis server restarted or failed over since the last check, maybe losing its latest seat counts; rebuilding those of every show to come from MySQL');
      return [...concertIds];
    }
    const sizes = await this.concerts.scheduleSizes(concertIds);
    const schedules = [...sizes.values()].flat();
    if (schedules.length === 0) return [];
    const ids = schedules.map((schedule) => schedule.id);
    const reads = await this.read(ids);
    const bounds = await this.catalog.reservedBounds(ids, SETTLE_SECONDS);
    const wrong = ids.filter((id, i) => {
      const reserved = reads[i]?.[0] ?? -1;
      const { atLeast, atMost } = bounds.get(id) ?? { atLeast: 0, atMost: 0 };
      // A bitmap being rebuilt (reserved -1) is not judged.
      return reserved >= 0 && (reserved < atLeast || reserved > atMost);
    });
    await this.drop(wrong, 'seat inventory disagrees with MySQL beyond the commits under way; rebuilding it');
    return concertIds.filter((id) => (sizes.get(id) ?? []).some((schedule) => wrong.includes(schedule.id)));
  }

  /**
   * Whether a Redis server restarted or failed over since the last check (its run id changed). A
   * restart from a snapshot, or a replica promoted before it had every write, brings back bitmaps
   * that read complete but lack the latest sales: counted as seats left, they kept admission going
   * and the line open over seats long sold, until those sales were older than the settle window
   * (30 s and more). After such a change every upcoming show's bitmap is rebuilt at its next read.
   * The first check (nothing recorded yet) only records.
   */
  private async serversRestarted(): Promise<boolean> {
    try {
      const now = await serverRunIds(this.redis);
      const before = await this.redis.set(this.keys.inventoryServers, now, 'GET');
      return before !== null && before !== now;
    } catch (error) {
      // A node not answering now (a failover under way): the next check asks again; this one still
      // compares the counts it can read.
      this.logger.warn({ err: error }, 'could not read the Redis servers’ run ids; checking the seat counts without them');
      return false;
    }
  }

  /**
   * After a sale: the concerts whose seats now all read reserved are recorded for the check
   * (rememberSoldOut), as the tick closing their line does, and returned. No tick need see such a sale: its buyer
   * may have left the line before paying (holds need no slot), or on a Cluster the end of the buyer's
   * slot may overtake the seat's count, and a tick then forgets the empty line before its seats read
   * sold out.
   */
  async recordIfSoldOut(concertIds: number[]): Promise<number[]> {
    const inventories = await this.ofConcerts(concertIds);
    const soldOut = concertIds.filter((id) => inventories.get(id)?.soldOut);
    await this.rememberSoldOut(soldOut);
    return soldOut;
  }

  /** The concerts rememberSoldOut recorded whose last show is still to come. */
  async soldOutConcerts(): Promise<number[]> {
    // A show that has started takes no cancellation: its concert's seats no longer change.
    await this.redis.zremrangebyscore(this.keys.soldOutIndex, '-inf', sharedNow());
    return (await this.redis.zrange(this.keys.soldOutIndex, 0, -1)).map(Number);
  }

  /**
   * Records these sold-out concerts for the check (QueueService.checkInventory) until their last show
   * starts: a sold-out line is empty, so no tick visits it, and a cancellation whose update was lost
   * would otherwise keep it sold out for good. Returns those it could not record (the tick keeps
   * visiting them, to try again).
   */
  async rememberSoldOut(ids: number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    try {
      const sizes = await this.concerts.scheduleSizes(ids);
      const lastStarts = ids.flatMap((id) => [Math.max(...(sizes.get(id) ?? []).map((schedule) => schedule.startsAt.getTime())), id]);
      await this.redis.zadd(this.keys.soldOutIndex, ...lastStarts);
      return new Set();
    } catch (error) {
      this.logger.warn({ err: error, concerts: ids }, 'could not record sold-out concerts for the inventory check');
      return new Set(ids);
    }
  }

  /**
   * Notes, before a sale or cancellation of these concerts' seats commits, that their counts are about
   * to change: the check then looks at them (reconcile) until that commit has settled. The process may
   * die between a commit and its count's update, and the check otherwise looks only at concerts
   * someone queues for or that sold out: a count left wrong on any other concert stayed wrong. Throws
   * when Redis cannot take the note, so that nothing commits unnoted (the caller then changes nothing).
   */
  async noteChanging(concertIds: readonly number[]): Promise<void> {
    if (concertIds.length === 0) return;
    const at = sharedNow();
    await this.redis.zadd(this.keys.seatsChanging, ...concertIds.flatMap((id) => [at, id]));
  }

  /** The concerts noted changing (noteChanging) and not yet forgotten. */
  async changingConcerts(): Promise<ChangeNotes> {
    const settledBefore = sharedNow() - CHANGE_WATCH_MS;
    return { concertIds: (await this.redis.zrange(this.keys.seatsChanging, 0, -1)).map(Number), settledBefore };
  }

  /** After a check has looked at these notes: those whose commits had settled by then are done. */
  async forgetSettled(notes: ChangeNotes): Promise<void> {
    await this.redis.zremrangebyscore(this.keys.seatsChanging, '-inf', `(${notes.settledBefore}`);
  }

  /** Each schedule's {reserved (-1 while unknown), held}: one script each, sent together. */
  private read(scheduleIds: readonly number[]): Promise<[reserved: number, held: number][]> {
    return Promise.all(scheduleIds.map((id) => runScript(this.redis, INVENTORY_READ, this.keys.inventory(id))));
  }

  /** Drops these schedules' bitmaps, to be rebuilt from MySQL at their next read. */
  private async drop(scheduleIds: readonly number[], why: string): Promise<void> {
    if (scheduleIds.length === 0) return;
    this.logger.warn({ schedules: scheduleIds }, why);
    // One DEL per schedule: each schedule's keys live in their own slot on a cluster. Its marks go too:
    // a wrong one (a cancellation's update overtaken by a resale's) must not outlive the repair.
    await Promise.all(
      scheduleIds.map((id) => {
        const k = this.keys.inventory(id);
        return this.redis.del(k.sold, k.marks);
      }),
    );
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

import { randomBytes } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import type { ConcertService } from '../concerts/concert-service';
import type { QueueService } from '../queue/queue-service';
import { runScript, type RedisClient, type RedisKeys } from '../redis';
import { HOLD_BEING_PAID, HOLD_EXTEND, HOLD_LISTING_KEEP, HOLD_RELEASE, HOLD_SEAT, HOLD_STATUS, HOLD_SWEEP, HOLD_UNKEEP } from '../redis/hold-scripts';
import { dropFromWorkIndex } from '../redis/work-index';
import { groupBySchedule, SeatStatus, type SeatInfo } from '../seats/seat';
import type { Hold } from './hold';
import type { SeatCatalog } from '../seats/seat-catalog';
import type { SeatEvents } from '../seats/seat-events';
import { sharedNow } from '../redis/clock';
import { Backlog } from '../background-retry';

export interface HoldSettings {
  ttlSeconds: number;
  maxPerSchedule: number;
}

/** What a hold ID names: the schedule and seat it locks, so its keys are found without a lookup. */
export interface HoldRef {
  id: string;
  scheduleId: number;
  seatId: number;
}

/** A live hold as the schedule's hash stores it. */
export interface LiveHold {
  id: string;
  userId: number;
  expiresAt: number;
}

/**
 * How long a payment keeps its holds at least: holds are extended to now + this when a payment
 * starts, so one that waits on a row lock cannot lose its seats to a rival before it commits.
 */
const PAYMENT_KEEP_MS = 30_000;

/** How much longer than a payment's keep the listing of its holds is kept, for this process's clock against Redis's. */
const LISTING_MARGIN_MS = 5_000;

/** `<scheduleId>.<seatId>.<12 random base64url chars>`: opaque to clients, never containing the hash's `|`. */
const HOLD_ID = /^([1-9]\d{0,15})\.([1-9]\d{0,15})\.([\w-]{12})$/;

const holdNotFound = () => new AppError('HOLD_NOT_FOUND', 'That hold does not exist, has expired, or is not yours: hold the seat again.');
const stillBeingPaid = () => new AppError('SERVICE_UNAVAILABLE', 'A payment of this hold is still under way: try again in a moment.');

/** How long a release waits for a payment of the same hold to end, and how often it looks. */
const RELEASE_WAIT_MS = 5_000;
const RELEASE_POLL_MS = 50;
const seatUnavailable = () => new AppError('SEAT_UNAVAILABLE', 'Someone else holds or has bought this seat: pick another one.');

function parseHoldId(id: string): HoldRef {
  const match = HOLD_ID.exec(id);
  if (!match) throw holdNotFound();
  return { id, scheduleId: Number(match[1]), seatId: Number(match[2]) };
}

/**
 * Seat holds: a single-key lock per seat with a TTL, bound to its owner, kept in Redis by the Lua
 * scripts in src/redis/hold-scripts.ts (one atomic script per schedule, so rivals can never both win).
 * MySQL stays the final fence: a reserved seat is never held, and payment's unique seat index holds
 * even if Redis loses every lock.
 */
export class HoldService {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly catalog: SeatCatalog,
    private readonly concerts: ConcertService,
    private readonly queue: QueueService,
    private readonly events: SeatEvents,
    private readonly metrics: Metrics,
    private readonly settings: HoldSettings,
    private readonly logger: Logger,
  ) {}

  /** Seats whose holds ended while MySQL could not say whether they were sold (announceFreed). */
  private readonly freedUntold = new Backlog<number>(async (seatIds) => this.announceAsNow(await this.catalog.findMany(seatIds)));

  /** The caller's hold on the seat: a new one, or the one they already have. */
  async hold(userId: number, seatId: number): Promise<Hold> {
    const seat = await this.catalog.get(seatId, (found) => this.queue.requireActive(userId, found.concertId));
    // A cached seat skipped the check above: ask again (one Redis call, no SQL).
    await this.queue.requireActive(userId, seat.concertId);
    const ref: HoldRef = { id: `${seat.scheduleId}.${seatId}.${randomBytes(9).toString('base64url')}`, scheduleId: seat.scheduleId, seatId };
    const k = this.keys.holds(ref.scheduleId);
    const takeLock = (soldBit: number[]) =>
      runScript(this.redis, HOLD_SEAT, k, seatId, userId, ref.id, this.settings.ttlSeconds * 1000, this.settings.maxPerSchedule, ...soldBit).catch(async (error: unknown) => {
        // The script may have run though its answer came too late (a timeout): its lock would keep the
        // seat HELD for the whole TTL, unlisted and unannounced, while the fan hears "try again". Given
        // back under this request's hold ID (nothing if the script never ran, or found an older hold),
        // unless another request of the fan's was handed it meanwhile (a retry on another replica).
        await this.releaseLock(userId, ref, false, true).catch(() => undefined);
        throw error;
      });
    let [outcome, holdId = '', expiresAt = '', ...purged] = await takeLock([seat.number]);
    if (outcome === 'SOLD') {
      await this.announceLapsed(purged);
      // The inventory marks it sold: MySQL says whether it still is, before the fan's limit is touched.
      // A bit a cancellation has not cleared yet (its follow-up on its way, or lost) must not keep a free seat from sale.
      if (await this.isReserved(seatId)) throw seatUnavailable();
      [outcome, holdId = '', expiresAt = '', ...purged] = await takeLock([]);
    }
    await this.announceLapsed(purged);
    if (outcome === 'TAKEN') throw seatUnavailable();
    if (outcome === 'LIMIT') {
      throw new AppError('HOLD_LIMIT_REACHED', `You already hold ${this.settings.maxPerSchedule} seats of this schedule: pay for or release one first.`);
    }
    const held: HoldRef = { ...ref, id: holdId };
    if (outcome === 'NEW') await this.completeHold(userId, held, Number(expiresAt));
    else if ((await this.redis.zscore(this.keys.userHolds(userId), holdId)) === null) await this.finishLeftHold(userId, held, Number(expiresAt));
    return { id: holdId, seatId, expiresAt: new Date(Number(expiresAt)) };
  }

  /**
   * The lock is ours; the rest of a new hold is all or nothing: if the seat turns out sold, or the SQL
   * check or the listing fails, the lock is given back at once rather than left HELD for the whole
   * TTL, invisible in `me.holds` and counted against the caller's limit. A failure gives it back
   * only if no other request of the fan's was handed it meanwhile (a retry, answered with the hold,
   * which it finished: finishLeftHold) and no payment keeps it; a sold seat's lock goes whoever has it.
   */
  private async completeHold(userId: number, ref: HoldRef, expiresAt: number): Promise<void> {
    let sold: boolean;
    try {
      // Whether the seat is sold is asked only once the lock is ours: rivals that lose the lock cost
      // no SQL, and a payment that committed and released its hold just before cannot slip through.
      sold = await this.isReserved(ref.seatId);
      if (!sold) await this.enlist(userId, ref, expiresAt);
    } catch (error) {
      await this.releaseRef(userId, ref, false, true).catch(() => undefined);
      throw error;
    }
    if (sold) {
      await this.releaseRef(userId, ref).catch(() => undefined);
      throw seatUnavailable();
    }
    await this.events.announce([ref.seatId], SeatStatus.HELD);
  }

  /**
   * A hold the caller already has but that is not listed: its first request stopped after the lock
   * (a killed process; a Redis timeout whose release did not get through either),
   * leaving it unlisted, unannounced, unswept and unchecked against MySQL. Finished now, as the new
   * hold it is. Only a seat sold meanwhile gives the lock back: any other failure leaves the hold,
   * which the caller had, for the next try.
   */
  private async finishLeftHold(userId: number, ref: HoldRef, expiresAt: number): Promise<void> {
    if (await this.isReserved(ref.seatId)) {
      await this.releaseRef(userId, ref).catch(() => undefined);
      throw seatUnavailable();
    }
    await this.enlist(userId, ref, expiresAt);
    await this.events.announce([ref.seatId], SeatStatus.HELD);
  }

  /** Lists the hold in its user's listing, and its schedule where the expiry sweep looks. */
  private async enlist(userId: number, ref: HoldRef, expiresAt: number): Promise<void> {
    await Promise.all([
      // After the script, as dropFromWorkIndex relies on: this schedule stays visited by the sweep.
      this.redis.sadd(this.keys.holdIndex, ref.scheduleId),
      runScript(this.redis, HOLD_LISTING_KEEP, { listing: this.keys.userHolds(userId) }, expiresAt, ref.id),
    ]);
  }

  /**
   * Ends the caller's live hold. A hold that is not live and theirs, one already released included,
   * is HOLD_NOT_FOUND, as errors.md words it: a retry whose first answer was lost learns the hold is
   * gone, which is what it asked for.
   */
  async release(userId: number, holdId: string): Promise<void> {
    const ref = parseHoldId(holdId);
    const outcome = await this.releaseAfterPayments(userId, ref);
    // A hold whose seat MySQL has sold became a ticket, whatever Redis still says (a payment's
    // cleanup after its commit failed, or a payment still marking it there): gone.
    if (outcome === HOLD_BEING_PAID) throw (await this.isReserved(ref.seatId)) ? holdNotFound() : stillBeingPaid();
    if (outcome !== 1) throw holdNotFound();
    // Announced free unless MySQL has it sold (the same question answers the caller).
    const [sold] = await Promise.all([this.announceFreed([ref.seatId]), this.markPresent(userId, ref)]);
    if (sold?.has(ref.seatId)) throw holdNotFound();
  }

  /**
   * A hold one of the fan's payments is keeping is released only once that payment is over: paid, the
   * hold is gone (HOLD_NOT_FOUND, as for any hold that became a ticket); failed, it is released now.
   * A payment usually ends within milliseconds; one stuck past RELEASE_WAIT_MS leaves the answer to a
   * retry.
   */
  private async releaseAfterPayments(userId: number, ref: HoldRef): Promise<number> {
    const deadline = Date.now() + RELEASE_WAIT_MS;
    for (;;) {
      const outcome = await this.releaseRef(userId, ref, false);
      if (outcome !== HOLD_BEING_PAID || Date.now() >= deadline) return outcome;
      await setTimeout(RELEASE_POLL_MS);
    }
  }

  /**
   * Releasing (the hold proved the caller's) is a sign of presence in the seat's concert, like
   * holding and paying; never a reason for the release, already done, to fail.
   */
  private async markPresent(userId: number, ref: HoldRef): Promise<void> {
    try {
      const seat = await this.catalog.get(ref.seatId);
      await this.queue.markPresent(userId, seat.concertId);
    } catch (error) {
      this.logger.warn({ err: error, userId }, 'could not record a releasing fan’s presence');
    }
  }

  /**
   * After a payment: frees the paid holds (only if they are still those holds) and returns the ones
   * it freed; the seats are announced RESERVED by the payer. Sold, they are no longer the user's holds
   * whatever the script finds, so they leave the user's listing in the same round trip rather than after it.
   */
  async releasePaid(userId: number, refs: HoldRef[]): Promise<HoldRef[]> {
    const listing = this.keys.userHolds(userId);
    if (refs.length === 0) return [];
    const [outcomes] = await Promise.all([Promise.all(refs.map((ref) => this.releaseLock(userId, ref, true))), this.redis.zrem(listing, ...refs.map((ref) => ref.id))]);
    return refs.filter((_, i) => outcomes[i] === 1);
  }

  /** After a payment that failed: its holds, kept for it, may be released by the fan again. */
  async unkeep(userId: number, refs: HoldRef[]): Promise<void> {
    await Promise.all(
      [...groupBySchedule(refs, (ref) => [ref.seatId, ref.id] as const)].map(([scheduleId, held]) =>
        runScript(this.redis, HOLD_UNKEEP, this.keys.holds(scheduleId), userId, PAYMENT_KEEP_MS, ...held.flat()),
      ),
    );
  }

  /** The user's live holds, soonest to lapse first. */
  async list(userId: number): Promise<Hold[]> {
    const listing = this.keys.userHolds(userId);
    const ids = await this.redis.zrange(listing, 0, -1);
    const refs = ids.flatMap((id) => (HOLD_ID.test(id) ? [parseHoldId(id)] : []));
    const live = await this.liveOf(userId, refs);
    // The listing is a hint kept beside the schedules' keys (another slot): drop what they no longer
    // confirm. Liveness is theirs to judge, on Redis's clock, not this process's.
    const stale = ids.filter((id) => !live.has(id));
    if (stale.length > 0) await this.redis.zrem(listing, ...stale);
    return refs
      .flatMap((ref) => {
        const hold = live.get(ref.id);
        return hold ? [{ id: ref.id, seatId: ref.seatId, expiresAt: new Date(hold.expiresAt) }] : [];
      })
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime());
  }

  /**
   * For a payment about to start: the holds, each of them the user's and live (else HOLD_NOT_FOUND),
   * kept for at least PAYMENT_KEEP_MS more so none lapses while the payment waits on MySQL.
   */
  async keepForPayment(userId: number, holdIds: string[]): Promise<HoldRef[]> {
    const refs = this.refsOf(holdIds);
    const groups = await Promise.allSettled(
      [...groupBySchedule(refs, (ref) => [ref.seatId, ref.id] as const)].map(async ([scheduleId, held]) => {
        const k = this.keys.holds(scheduleId);
        const pairs = held.flat();
        const [purged, seats] = await runScript(this.redis, HOLD_EXTEND, k, userId, PAYMENT_KEEP_MS, ...pairs);
        await this.announceLapsed(purged);
        return seats.map((seat) => `${scheduleId}.${seat}`);
      }),
    );
    const held = new Set(groups.flatMap((group) => (group.status === 'fulfilled' ? group.value : [])));
    const kept = refs.filter((ref) => held.has(`${ref.scheduleId}.${ref.seatId}`));
    try {
      const failed = groups.find((group) => group.status === 'rejected');
      if (failed) throw failed.reason;
      if (kept.length < refs.length) throw holdNotFound();
      // Kept holds may outlive the expiry they were listed with: so does their listing (a margin over
      // Redis's clock, which the scripts keep by; a listing that outlives its holds is cleaned by list()).
      await runScript(this.redis, HOLD_LISTING_KEEP, { listing: this.keys.userHolds(userId) }, sharedNow() + PAYMENT_KEEP_MS + LISTING_MARGIN_MS);
    } catch (error) {
      // No payment after all: the holds this one marked may be released again. (A schedule whose
      // script failed may or may not have marked its holds; those marks lapse with the keep.)
      await this.unkeep(userId, kept).catch(() => undefined);
      throw error;
    }
    return refs;
  }

  /** The longest a hold can live: its TTL, plus what payments may keep it for. */
  longestHoldMs(): number {
    return this.settings.ttlSeconds * 1000 + PAYMENT_KEEP_MS;
  }

  /** What the hold IDs name (HOLD_NOT_FOUND for one that names nothing), looked up nowhere. */
  refsOf(holdIds: string[]): HoldRef[] {
    return holdIds.map(parseHoldId);
  }

  /** For a payment about to commit: HOLD_NOT_FOUND unless every hold is still the user's (Redis may have lost them). */
  async confirm(userId: number, refs: HoldRef[]): Promise<void> {
    const live = await this.liveOf(userId, refs);
    if (refs.some((ref) => !live.has(ref.id))) throw holdNotFound();
  }

  /**
   * Seat → live hold for one schedule, for the given seats or (none given) all of them; lapsed holds
   * are purged and announced on the way. Naming the seats keeps a payment's check O(its seats), not
   * O(every hold in the schedule).
   */
  async liveHolds(scheduleId: number, seatIds: number[] = []): Promise<Map<number, LiveHold>> {
    const k = this.keys.holds(scheduleId);
    const [purged, flat] = await runScript(this.redis, HOLD_STATUS, k, ...seatIds);
    await this.announceLapsed(purged);
    const holds = new Map<number, LiveHold>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [id = '', userId, expiresAt] = (flat[i + 1] as string).split('|');
      holds.set(Number(flat[i]), { id, userId: Number(userId), expiresAt: Number(expiresAt) });
    }
    return holds;
  }

  /**
   * Tells seat maps these seats as they are now: RESERVED if MySQL has them sold, HELD if a live hold
   * has them, else AVAILABLE. For a follow-up told late (retryInBackground after a failover), which may
   * come after later changes already told. A sale or cancellation that commits between the read and
   * the telling may have been told before it: those seats are read and told again after.
   */
  async announceAsNow(seats: readonly SeatInfo[]): Promise<void> {
    const sold = await this.tellAsNow(seats);
    const soldAfter = await this.catalog.reservedAmong(seats.map((seat) => seat.id));
    const changed = seats.filter((seat) => sold.has(seat.id) !== soldAfter.has(seat.id));
    if (changed.length > 0) await this.tellAsNow(changed);
  }

  /** announceAsNow's one pass; returns the seats MySQL had sold. */
  private async tellAsNow(seats: readonly SeatInfo[]): Promise<Set<number>> {
    const sold = await this.catalog.reservedAmong(seats.map((seat) => seat.id));
    await this.events.announceSeats(seats.filter((seat) => sold.has(seat.id)), SeatStatus.RESERVED);
    for (const [scheduleId, unsold] of groupBySchedule(seats.filter((seat) => !sold.has(seat.id)), (seat) => seat)) {
      const held = await this.liveHolds(scheduleId, unsold.map((seat) => seat.id));
      await this.events.announceSeats(unsold.filter((seat) => held.has(seat.id)), SeatStatus.HELD);
      await this.events.announceSeats(unsold.filter((seat) => !held.has(seat.id)), SeatStatus.AVAILABLE);
    }
    return sold;
  }

  /**
   * Frees the live holds on seats MySQL has sold, in these concerts (those whose seats were sold or
   * cancelled lately: InventoryService.noteChanging). A payment frees its holds right after its
   * commit (releasePaid); a process killed in between left them until they lapsed (up to
   * HOLD_TTL_SECONDS plus a payment's keep), the seat counted twice meanwhile (sold, and held), still
   * listed among its buyer's holds and counting against their limit. The holds are read before MySQL
   * and each is freed only if it is still that hold: a seat cancelled since and held anew keeps its
   * new hold. The freed seats are told RESERVED, which the killed process did not get to do: each
   * payment's seats together (found in MySQL in one query), told once whoever tells them first, this
   * check or the payment's own follow-up a moment behind (SeatEvents.announcePaid).
   */
  async releaseSold(concertIds: readonly number[]): Promise<void> {
    if (concertIds.length === 0) return;
    const schedules = [...(await this.concerts.scheduleSizes(concertIds)).values()].flat();
    const held = (
      await Promise.all(
        schedules.map(async ({ id: scheduleId }) => [...(await this.liveHolds(scheduleId))].map(([seatId, hold]) => ({ userId: hold.userId, ref: { id: hold.id, scheduleId, seatId } }))),
      )
    ).flat();
    if (held.length === 0) return;
    const sold = await this.catalog.reservedAmong(held.map(({ ref }) => ref.seatId));
    const stale = held.filter(({ ref }) => sold.has(ref.seatId));
    if (stale.length === 0) return;
    const freed = (await Promise.all(stale.map(({ userId, ref }) => this.releasePaid(userId, [ref])))).flat();
    if (freed.length === 0) return;
    // Also met when a payment's own follow-up is a moment behind: freeing a hold twice frees it once.
    this.logger.info({ holds: freed.map((ref) => ref.id) }, 'freed holds on seats MySQL has sold');
    // Each payment's seats, all of them, as the payment tells them: the first to tell them tells all.
    const payments = await this.catalog.paymentsHolding(freed.map((ref) => ref.seatId));
    const seats = new Map((await this.catalog.findMany([...payments.values()].flat())).map((seat) => [seat.id, seat]));
    await Promise.all([...payments].map(([paymentId, seatIds]) => this.events.announcePaid(paymentId, seatIds.flatMap((id) => seats.get(id) ?? []), this.longestHoldMs())));
  }

  /**
   * The hold-expiry job: purges lapsed holds in every schedule that has any and announces their
   * seats AVAILABLE, so seat maps update live when a hold lapses with nobody looking.
   */
  async sweep(): Promise<void> {
    const ids = (await this.redis.smembers(this.keys.holdIndex)).map(Number);
    const results = await Promise.all(
      ids.map((id) => {
        return runScript(this.redis, HOLD_SWEEP, this.keys.holds(id));
      }),
    );
    const empty: number[] = [];
    for (const [index, [purged, left]] of results.entries()) {
      await this.announceLapsed(purged);
      if (left === 0) empty.push(ids[index] as number);
    }
    for (const id of empty) {
      await dropFromWorkIndex(this.redis, this.keys.holdIndex, id, async () => (await this.redis.hlen(this.keys.holds(id).bySeat)) > 0);
    }
  }

  /** Hold ID → live hold, for those of the refs that are the user's live holds. */
  private async liveOf(userId: number, refs: HoldRef[]): Promise<Map<string, LiveHold>> {
    const seatsBySchedule = [...groupBySchedule(refs, (ref) => ref.seatId)];
    const bySchedule = new Map(await Promise.all(seatsBySchedule.map(async ([id, seats]) => [id, await this.liveHolds(id, seats)] as const)));
    const live = new Map<string, LiveHold>();
    for (const ref of refs) {
      const hold = bySchedule.get(ref.scheduleId)?.get(ref.seatId);
      if (hold && hold.id === ref.id && hold.userId === userId) live.set(ref.id, hold);
    }
    return live;
  }

  /**
   * Deletes the hold if it is still this user's live hold with this ID (and, unless evenIfPaying, no
   * payment keeps it; with unlessClaimed, no other request was handed it), then its listing entry.
   * HOLD_RELEASE's outcome: 1 released, 0 not the user's live hold, HOLD_BEING_PAID.
   */
  private async releaseRef(userId: number, ref: HoldRef, evenIfPaying = true, unlessClaimed = false): Promise<number> {
    const outcome = await this.releaseLock(userId, ref, evenIfPaying, unlessClaimed);
    if (outcome === 1) await this.redis.zrem(this.keys.userHolds(userId), ref.id);
    return outcome;
  }

  /** The schedule's side of releaseRef: the lock and its seat, with any lapsed holds purged on the way. */
  private async releaseLock(userId: number, ref: HoldRef, evenIfPaying: boolean, unlessClaimed = false): Promise<number> {
    const k = this.keys.holds(ref.scheduleId);
    const [outcome, purged] = await runScript(this.redis, HOLD_RELEASE, k, ref.seatId, ref.id, userId, evenIfPaying ? 1 : 0, unlessClaimed ? 1 : 0);
    await this.announceLapsed(purged);
    return outcome;
  }

  private async isReserved(seatId: number): Promise<boolean> {
    return (await this.catalog.reservedAmong([seatId])).has(seatId);
  }

  /** Lapsed holds a script purged (the sweep, or any request that met them first): counted and announced. */
  private async announceLapsed(seats: string[]): Promise<void> {
    this.metrics.holdsExpired.inc(seats.length);
    await this.announceFreed(seats.map(Number));
  }

  /**
   * Tells seat maps these seats, just let go, are AVAILABLE (unless MySQL has them sold), and then
   * those a rival took meanwhile HELD again (retellHeld). Returns what SeatEvents.announceFreed does.
   * When MySQL cannot say which are sold (it is away), they are told as they are once it can, however
   * long that takes (freedUntold): by then their holds are gone from Redis, so nothing else would tell
   * them, and live maps would show them held until reloaded.
   */
  private async announceFreed(seatIds: number[]): Promise<Set<number> | undefined> {
    const sold = await this.events.announceFreed(seatIds);
    if (sold === undefined) {
      this.freedUntold.add(seatIds);
      return sold;
    }
    try {
      await this.retellHeld(await this.catalog.findMany(seatIds.filter((id) => !sold.has(id))));
    } catch (error) {
      this.logger.warn({ err: error, seatIds }, 'could not check seats just freed for a rival’s hold');
    }
    return sold;
  }

  /**
   * For seats just announced AVAILABLE: reads their holds once more and tells a held one HELD again,
   * after that AVAILABLE. A rival can take a seat the moment it is free (its lock let go, its sale
   * cancelled), and the rival's HELD, sent while the one freeing it was still asking MySQL, went out
   * first: overtaken, it left live maps showing a held seat free.
   */
  async retellHeld(seats: readonly SeatInfo[]): Promise<void> {
    for (const [scheduleId, group] of groupBySchedule(seats, (seat) => seat)) {
      const held = await this.liveHolds(scheduleId, group.map((seat) => seat.id));
      await this.events.announceSeats(group.filter((seat) => held.has(seat.id)), SeatStatus.HELD);
    }
  }
}

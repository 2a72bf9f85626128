import type { ConcertService } from '../concerts/concert-service';
import type { Concert } from '../entities';
import { AppError, badInput, notFound } from '../errors';
import type { Inventory } from '../inventory/inventory';
import type { InventoryService } from '../inventory/inventory-service';
import type { Logger } from '../logger';
import type { LineFigures, Metrics } from '../observability/metrics';
import { runScript, type RedisClient, type RedisKeys } from '../redis';
import {
  QUEUE_ADMIT,
  QUEUE_CLOSE_SOLD_OUT,
  CLOSE_CLOSED_NOW,
  CLOSE_REOPENED,
  QUEUE_END_ACTIVE,
  QUEUE_ENTER,
  QUEUE_FEED,
  QUEUE_FIGURES_NOW,
  QUEUE_HEARTBEAT,
  QUEUE_LEAVE,
  QUEUE_REOPEN,
  QUEUE_SEATS_LEFT,
  QUEUE_STATUS,
  QUEUE_UNWATCH,
  QUEUE_WATCH,
  SALES_OPEN,
  SALES_RESTORE,
  SALES_SET,
  SALES_UNKNOWN,
} from '../redis/queue-scripts';
import { dropFromWorkIndex } from '../redis/work-index';
import { PUBLISH_TICK } from '../redis/pubsub-scripts';
import { SharedReads } from '../caching/shared-reads';
import { drawPreQueueScore } from './draw';
import { QueueState, type QueueStatus } from './queue-state';
import { decodeDepartures, type Departures } from './departures';
import { decodeFeedReply, decodeStatusReply, decodeWatchReply, lapseOf, MAX_ADMITTED_PER_TICK, toQueueStatus, type Lapse, type Place, type QueueFigures, type ScoredPlace, type WaitPace } from './queue-status';

export interface QueueSettings extends WaitPace {
  /** A WAITING or PREQUEUE fan with no sign of presence for this long loses the place. */
  presenceGraceSeconds: number;
  /** An ACTIVE fan with no sign of presence for this long loses the slot. */
  activeIdleSeconds: number;
  /** How long seatsLeft written by a tick (or computed by a request) is read before it counts as unknown. */
  seatsLeftTtlMs: number;
  /**
   * A line whose previous tick is older than this was left unattended (Redis or every worker away):
   * nobody could show presence meanwhile, so its graces start again (QUEUE_ADMIT).
   */
  unattendedAfterMs: number;
}

/**
 * How often a replica that follows fans live says it is alive (per concert), and how long after its
 * last beat a tick takes it for dead: one grace and one beat, since it may have lived almost a beat
 * past its last one. Its fans, whose presence counts from that beat, lapse at that tick: no sooner
 * than one grace after it died. A replica stalled for less (a long GC pause, a saturated core) loses
 * nobody.
 */
export function watchBeat(presenceGraceSeconds: number): { intervalMs: number; deadAfterMs: number } {
  const intervalMs = Math.min(5000, Math.max(100, Math.floor((presenceGraceSeconds * 1000) / 6)));
  return { intervalMs, deadAfterMs: presenceGraceSeconds * 1000 + intervalMs };
}

/** What MySQL's opening time seeds the sales key with (see RedisKeys.queue().sales). */
const salesValue = (salesOpenAt: Date | null) => (salesOpenAt ? String(salesOpenAt.getTime()) : SALES_OPEN);

/** The message live feeds on every process receive: which concerts may have changed, or which fans. */
export interface TickMessage {
  concerts: number[];
  /**
   * An admission tick's number (one counter for all ticks): a replica that gets any other number than
   * its last one + 1 lost messages while its subscription was away, and reads its fans' places anew.
   */
  seq?: number;
  /** [concertId, userId] of a fan who changed their own status (enter, leave, pay), sent by tellFan in src/redis/queue-scripts.ts. */
  fans?: [number, number][];
}

/** Window over which the admission rate (for estimated waits) is measured. */
const RATE_WINDOW_MS = 60_000;
/** A capacity MySQL could not give and this process never read: QUEUE_ADMIT uses the one the line stored. */
const UNKNOWN_CAPACITY = -1;
/** How often at most a process re-adds a concert to the tick's index for fans its HTTP calls find in line. */
const INDEX_REFRESH_MS = 1000;
/** Users per status script call when refreshing many subscribers. */
const STATUS_BATCH = 5000;
/**
 * Every how many ticks at most MySQL confirms again a closed line whose seat counts still read sold
 * out: the fans' pages keep a sold-out concert in every tick for as long as they stay open (their
 * queueStatus feeds outlast SOLD_OUT), and the confirmation counts all its reservations. A cancellation
 * whose count update was lost (the counts then say sold out and MySQL does not) reopens the line
 * within this many ticks, or by the inventory check's repair, whichever comes first.
 */
const SOLD_OUT_RECONFIRM_TICKS = 10;

/**
 * The waiting room: entering, leaving, status, the ACTIVE gate, sales opening, presence and the
 * admission tick.
 */
export class QueueService {
  /**
   * Concerts are never deleted, so a concert once seen to exist needs no second lookup; with its
   * capacity as last read (when first entered, then by every tick): the estimated wait's fallback
   * when Redis has none, and what ticks admit with while MySQL is away.
   */
  private readonly knownConcerts = new Map<number, number>();
  /** When this process last put each concert in the tick's index for a fan an HTTP call found in line (seenInLine). */
  private readonly visitedAt = new Map<number, number>();
  /** When a tick of this process last had MySQL confirm each concert sold out (see SOLD_OUT_RECONFIRM_TICKS). */
  private readonly soldOutConfirmedAt = new Map<number, number>();
  /** Capacity reads under way, shared by the calls that miss meanwhile. */
  private readonly capacityReads = new SharedReads<number>();
  /** When a replica counts as dead, from the presence grace. */
  private readonly deadAfterMs: number;
  /** See onOwnChange. */
  private ownChange: (concertId: number, userId: number) => void = () => undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly concerts: ConcertService,
    private readonly inventory: InventoryService,
    private readonly metrics: Metrics,
    private readonly settings: QueueSettings,
    private readonly logger: Logger,
  ) {
    this.deadAfterMs = watchBeat(settings.presenceGraceSeconds).deadAfterMs;
  }

  /**
   * Told, the moment this process has changed a fan's own status (enter, leave, the end of an ACTIVE
   * slot) and before its caller hears of it: the live feed here then pushes that fan nothing read
   * before the change. The scripts also publish the change to every replica, but that message may
   * come later than the script's answer (on a Redis Cluster it crosses to the subscriber's node).
   */
  onOwnChange(listener: (concertId: number, userId: number) => void): void {
    this.ownChange = listener;
  }

  /** WAITING (or PREQUEUE before sales open) at the back, unless already in line or ACTIVE. */
  async enter(userId: number, concertId: number): Promise<QueueStatus> {
    const capacity = await this.requireConcert(concertId);
    const k = this.keys.queue(concertId);
    const attempt = async () => {
      const reply = await runScript(this.redis, QUEUE_ENTER, k, userId, drawPreQueueScore(), capacity, this.keys.channels.queueTicks, concertId);
      this.ownChange(concertId, userId);
      return reply;
    };
    let reply = await attempt();
    if (reply[0] === SALES_UNKNOWN) {
      // First entrant of this concert since Redis started (or lost its data): MySQL knows when sales
      // open, and whether every seat is sold (the line's closed mark went with the data; until a tick
      // set it again, this entrant would be told WAITING in a line that admits nobody).
      const [concert, inventory] = await Promise.all([this.concerts.get(concertId), this.inventory.ofConcerts([concertId])]);
      await this.redis.set(k.sales, salesValue(concert.salesOpenAt), 'NX');
      if (inventory.get(concertId)?.soldOut) await this.closeSoldOut([concertId]);
      reply = await attempt();
    }
    // The concert is in the tick's index while anyone else is in line or ACTIVE (the script's last
    // item): the first of them added it after entering, and a tick drops it only once it finds the line
    // empty (dropFromWorkIndex: removed, then put back if anyone came). So an entrant of an empty line
    // adds it, after its entry, and waits for that; the others only refresh it, at most once a second
    // per process and not waited for (refreshIndex): in an on-sale's burst, one Redis round trip fewer
    // per entry, and an index that lost the concert all the same (a write that failed, a Cluster
    // failover) has it back within a second of the next entry. Also when the answer is SOLD_OUT: the
    // next tick then looks at the concert's seats again, so a line closed by mistake cannot stay
    // closed while fans knock.
    if (reply.pop() === 1) this.refreshIndex(concertId);
    else await this.keepVisited(concertId);
    // Then: whether the entrant had lost a place or slot for want of presence (and entered anew), and
    // whether this entry opened sales (their time had come before a tick did).
    const lapse = lapseOf(reply.pop());
    if (reply.pop() === 1) this.metrics.salesOpened.inc();
    const status = this.decodeStatus(reply);
    // The entrant, back in line, is no one a freed slot could go to.
    const entrantWaits = status.places[0]?.state === QueueState.WAITING || status.places[0]?.state === QueueState.PREQUEUE;
    this.countLapse(lapse, status.figures.waiting - (entrantWaits ? 1 : 0));
    return await this.toStatus(concertId, status);
  }

  /**
   * ADMIN: moves the opening while sales are closed; null opens them at the next tick. Redis, where
   * the tick opens sales, decides whether they still are (on its clock, atomically with the change)
   * inside the transaction that holds the concert's row, so MySQL and Redis change together or not
   * at all, and concurrent calls take turns.
   */
  async setSalesOpenAt(concertId: number, salesOpenAt: Date | null): Promise<Concert> {
    const k = this.keys.queue(concertId);
    let redisChanged = false;
    let concert: Concert;
    try {
      concert = await this.concerts.setSalesOpenAt(concertId, salesOpenAt, async (current) => {
        // Set before the script is sent: it may run in Redis though its answer is lost (a timeout).
        redisChanged = true;
        const changed = await runScript(this.redis, SALES_SET, k, salesValue(current), salesOpenAt ? salesOpenAt.getTime() : -1);
        if (changed !== 1) {
          // Refused by Redis: it changed nothing, so there is nothing to take back.
          redisChanged = false;
          throw badInput('Sales for this concert have already opened: the opening time can no longer change.');
        }
      });
    } catch (error) {
      // Redis may have taken the new time while MySQL did not commit it (or the COMMIT's answer was
      // lost): Redis follows what MySQL has, read under the row lock so no other change slips in
      // between. Harmless when the script never ran: it writes back what Redis already had.
      if (redisChanged) await this.restoreOpening(concertId);
      throw error;
    }
    // PREQUEUE subscribers on every replica hear the new time now.
    const message: TickMessage = { concerts: [concertId] };
    await this.redis.publish(this.keys.channels.queueTicks, JSON.stringify(message));
    return concert;
  }

  /** Redis's opening back to MySQL's, unless a tick opened sales meanwhile; a failure is logged (the caller already fails). */
  private async restoreOpening(concertId: number): Promise<void> {
    const k = this.keys.queue(concertId);
    await this.concerts
      .withOpeningHeld(concertId, async (committed) => {
        if ((await runScript(this.redis, SALES_RESTORE, k, committed ? committed.getTime() : -1)) === 0) {
          this.logger.warn({ concert: concertId, committed }, 'setSalesOpenAt failed after a tick had opened sales at its new time: they stay open, though MySQL keeps the old time');
        }
      })
      .catch((error: unknown) => this.logger.error({ err: error, concert: concertId }, 'setSalesOpenAt failed, and its opening time could not be taken back in Redis: it may differ from MySQL'));
  }

  /** Removes the user (WAITING or ACTIVE) at once, freeing their place or slot. */
  async leave(userId: number, concertId: number): Promise<QueueStatus> {
    await this.requireConcert(concertId);
    const k = this.keys.queue(concertId);
    const reply = await runScript(this.redis, QUEUE_LEAVE, k, userId, this.keys.channels.queueTicks, concertId);
    this.ownChange(concertId, userId);
    return await this.toStatus(concertId, decodeStatusReply(reply));
  }

  /**
   * Ends the user's ACTIVE slot (after a payment) if it was given at `admittedBy` (ms) or before: a
   * slot given later is a new turn, which a late retry of this must not end. A user who is WAITING
   * keeps their place.
   */
  async endActive(userId: number, concertId: number, admittedBy: number): Promise<void> {
    const endingBy = admittedBy + this.settings.activeTtlSeconds * 1000;
    await runScript(this.redis, QUEUE_END_ACTIVE, this.keys.queue(concertId), userId, this.keys.channels.queueTicks, concertId, endingBy);
    this.ownChange(concertId, userId);
  }

  /**
   * A sign of presence from an operation that asks nothing of the queue (pay, releaseHold): the
   * status script marks the fan seen. Never a reason for that operation to fail: a failure is logged.
   */
  async markPresent(userId: number, concertId: number): Promise<void> {
    try {
      this.seenInLine(concertId, this.decodeStatus(await runScript(this.redis, QUEUE_STATUS, this.keys.queue(concertId), userId)).places[0]);
    } catch (error) {
      this.logger.warn({ err: error, userId, concertId }, 'could not record a fan’s presence');
    }
  }

  async status(userId: number, concertId: number): Promise<QueueStatus> {
    await this.requireConcert(concertId);
    const k = this.keys.queue(concertId);
    const status = this.decodeStatus(await runScript(this.redis, QUEUE_STATUS, k, userId));
    this.seenInLine(concertId, status.places[0]);
    return await this.toStatus(concertId, status);
  }

  /**
   * A fan found in line or ACTIVE by an HTTP call keeps the concert in the tick's index, as a live
   * feed's beat does: on a Redis Cluster the index lives on another node and may lose the concert (a
   * failover) while its line does not, and fans who only poll would then wait where no tick looks.
   * At most once a second per concert per process, so polling costs no extra command per request;
   * not waited for, so the request never fails or stalls on the index's node (failing over, maybe).
   */
  private seenInLine(concertId: number, place: Place | undefined): void {
    const state = place?.state;
    if (state === QueueState.WAITING || state === QueueState.PREQUEUE || state === QueueState.ACTIVE) this.refreshIndex(concertId);
  }

  /** Puts the concert in the tick's index again, at most once a second per concert per process, not waited for (see seenInLine). */
  private refreshIndex(concertId: number): void {
    const now = Date.now();
    if (now - (this.visitedAt.get(concertId) ?? 0) < INDEX_REFRESH_MS) return;
    this.visitedAt.set(concertId, now);
    this.keepVisited(concertId).catch((error: unknown) => this.logger.warn({ err: error, concert: concertId }, 'could not keep a concert in the tick’s index'));
  }

  /**
   * Closes the lines of these concerts, whose seats all read reserved, once MySQL confirms it (one
   * query): from then on an entrant is answered SOLD_OUT and statuses read no seat left, without
   * waiting for the next tick, which tells those in line and empties it. For the sale of a last seat,
   * and for the first entrant after Redis lost the closed mark (counted again then). A cancellation
   * that reopened a line meanwhile keeps it open (QUEUE_CLOSE_SOLD_OUT). Returns the concerts whose
   * line is closed now (by this call or before it).
   */
  async closeSoldOut(concertIds: readonly number[]): Promise<Set<number>> {
    const closed = new Set<number>();
    if (concertIds.length === 0) return closed;
    // Read before MySQL's confirmation: a reopening after this makes the verdict stale.
    const reopens = new Map(await Promise.all(concertIds.map(async (id) => [id, (await this.redis.hget(this.keys.queue(id).stats, 'reopens')) ?? ''] as const)));
    const confirmed = await this.inventory.confirmSoldOut(concertIds);
    await Promise.all(
      [...confirmed].map(async (id) => {
        const outcome = await runScript(this.redis, QUEUE_CLOSE_SOLD_OUT, this.keys.queue(id), reopens.get(id) ?? '', this.settings.seatsLeftTtlMs);
        if (outcome === CLOSE_REOPENED) return;
        closed.add(id);
        if (outcome !== CLOSE_CLOSED_NOW) return;
        this.metrics.soldOut.inc();
        this.logger.info({ concert: id }, 'concert sold out: its line is closed to newcomers; the next tick tells those in line');
      }),
    );
    return closed;
  }

  /**
   * Seats came back (a cancellation committed): the line opens now rather than at the next tick, and
   * seatsLeft is read afresh. A tick that still finds every seat reserved closes it again.
   */
  async reopen(concertId: number): Promise<void> {
    await runScript(this.redis, QUEUE_REOPEN, this.keys.queue(concertId));
  }

  /**
   * The places (with scores) of fans `replica` follows live, in one script call per batch, with the
   * figures at the log position they were read at. With `register`, the replica also holds their
   * presence until unwatch (or until it stops beating).
   */
  async watchPlaces(concertId: number, replica: string, userIds: number[], register: boolean): Promise<{ figures: QueueFigures; places: ScoredPlace[]; forgotten: boolean }[]> {
    const k = this.keys.queue(concertId);
    const batches: Promise<(number | string)[]>[] = [];
    for (let i = 0; i < userIds.length; i += STATUS_BATCH) {
      batches.push(runScript(this.redis, QUEUE_WATCH, k, register ? 1 : 0, replica, this.deadAfterMs, ...userIds.slice(i, i + STATUS_BATCH)));
    }
    const replies = (await Promise.all(batches)).map(decodeWatchReply);
    for (const reply of replies) this.countLapses(reply);
    // Followed, the concert is visited by every tick (see queuedConcerts).
    if (register) await this.keepVisited(concertId);
    // Read together, the batches share the concert's seat count: worked out once when unknown.
    const seatsLeft = replies[0] ? (await this.withSeatsLeft(concertId, replies[0].figures)).seatsLeft : 0;
    return replies.map((reply) => ({ ...reply, figures: { ...reply.figures, seatsLeft: reply.figures.seatsLeft >= 0 ? reply.figures.seatsLeft : seatsLeft } }));
  }

  /** The replica no longer follows these fans: their presence counts from now. */
  async unwatch(concertId: number, replica: string, userIds: number[]): Promise<void> {
    const k = this.keys.queue(concertId);
    for (let i = 0; i < userIds.length; i += STATUS_BATCH) await runScript(this.redis, QUEUE_UNWATCH, k, replica, ...userIds.slice(i, i + STATUS_BATCH));
  }

  /**
   * The replica, following these fans, is alive for this concert: BEAT_KNOWN, or BEAT_FORGOTTEN (it
   * must register its fans again), or BEAT_MISMATCHED (it must follow them under a new id).
   */
  async heartbeat(concertId: number, replica: string, following: Iterable<number>): Promise<number> {
    let count = 0;
    let sum = 0;
    for (const userId of following) {
      count += 1;
      sum += userId;
    }
    const verdict = await runScript(this.redis, QUEUE_HEARTBEAT, this.keys.queue(concertId), replica, this.deadAfterMs, count, sum);
    // A followed concert stays in the tick's index even if the index alone lost it (on a Cluster it
    // lives on another node, which may fail over without this concert's keys).
    await this.keepVisited(concertId);
    return verdict;
  }

  /**
   * The figures now and the departures logged after position `since`: null entries when the log no
   * longer holds them all (the caller reads its fans' places anew). No work per follower.
   */
  async departuresSince(concertId: number, since: number): Promise<{ figures: QueueFigures; entries: Departures[] | null }> {
    const { figures, entries } = decodeFeedReply(await runScript(this.redis, QUEUE_FEED, this.keys.queue(concertId), since));
    return { figures: await this.withSeatsLeft(concertId, figures), entries: entries?.map(decodeDepartures) ?? null };
  }

  /** A fan's status from their place and the concert's figures (seatsLeft resolved). */
  statusOf(concertId: number, place: Place, figures: QueueFigures): QueueStatus {
    return toQueueStatus(concertId, place, figures, this.settings, this.knownConcerts.get(concertId) ?? 1);
  }

  /** The gate for seats and holds: NOT_ACTIVE unless the user is ACTIVE for this concert right now. */
  async requireActive(userId: number, concertId: number): Promise<void> {
    const k = this.keys.queue(concertId);
    // Judged by the status script on Redis's clock, like the expiry itself.
    const place = this.decodeStatus(await runScript(this.redis, QUEUE_STATUS, k, userId)).places[0];
    this.seenInLine(concertId, place);
    if (place?.state !== QueueState.ACTIVE) {
      throw new AppError('NOT_ACTIVE', 'You are not admitted for this concert: enter the queue and wait until your state is ACTIVE.');
    }
  }

  /**
   * One admission tick over every concert with anyone waiting, active or followed live: expire, then admit in
   * order up to capacity while seats are left. The concerts' scripts are sent at once
   * (auto-pipelining batches them per node, on a single Redis or a cluster, where a pipeline could not
   * span slots); each concert's step is one atomic script, so overlapping ticks (or two workers) can
   * never admit past capacity. A concert whose script fails (corrupt keys) is logged and left out of
   * this tick; the others are still admitted and announced.
   *
   * Inventory: the concerts' seat counts are read first (one script per schedule, sent together). With
   * none left admission pauses; once every seat is reserved, and MySQL agrees, the line closes: everyone
   * in it is told SOLD_OUT and leaves. An unknown count (Redis lost it and MySQL did not answer) pauses
   * nothing.
   */
  async admitTick(): Promise<TickMessage> {
    const endTimer = this.metrics.tickDuration.startTimer();
    const listed = await this.queuedConcerts();
    const capacitiesRead = this.capacities(listed);
    // Read before the inventory and MySQL's confirmation: a reopening or a close after this makes their
    // verdict stale (QUEUE_ADMIT). Answered before the inventory is asked: sent together, the inventory's
    // reads could run first (on a Cluster its keys live on other nodes), and a count read before a
    // cancellation would pass for one made after its reopening.
    const statsRead = await Promise.all(listed.map((id) => this.redis.hmget(this.keys.queue(id).stats, 'soldOut', 'reopens', 'closedAt').catch((error: unknown) => this.skipped(id, error))));
    const [capacities, inventories] = await Promise.all([
      capacitiesRead,
      this.inventory.ofConcerts(listed).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not read seat inventory; admitting as if seats were left');
        return new Map<number, Inventory>();
      }),
    ]);
    const lineStats = new Map(listed.flatMap((id, i) => (statsRead[i] ? [[id, statsRead[i]] as const] : [])));
    const ids = listed.filter((id) => lineStats.has(id));
    const soldOutByCount = ids.filter((id) => inventories.get(id)?.soldOut);
    const closedBefore = new Set(ids.filter((id) => lineStats.get(id)?.[0] === '1'));
    const confirmed = await this.confirmSoldOut(soldOutByCount, closedBefore);
    // Counts that could not be read change nothing either: a closed line stays closed.
    const soldOut = new Set(ids.filter((id) => (inventories.has(id) ? inventories.get(id)?.soldOut && confirmed.has(id) : closedBefore.has(id))));
    const results = await Promise.allSettled(
      ids.map((id) => {
        const seatsLeft = inventories.get(id)?.available ?? -1;
        return runScript(
          this.redis,
          QUEUE_ADMIT,
          this.keys.queue(id),
          capacities.get(id) ?? 0,
          this.settings.activeTtlSeconds * 1000,
          MAX_ADMITTED_PER_TICK,
          RATE_WINDOW_MS,
          this.settings.presenceGraceSeconds * 1000,
          this.settings.activeIdleSeconds * 1000,
          seatsLeft,
          soldOut.has(id) ? 1 : 0,
          this.settings.seatsLeftTtlMs,
          this.deadAfterMs,
          lineStats.get(id)?.[1] ?? '',
          this.settings.unattendedAfterMs,
          `${lineStats.get(id)?.[0] ?? ''}|${lineStats.get(id)?.[2] ?? ''}`,
        );
      }),
    );
    const ticked: number[] = [];
    const empty: number[] = [];
    let admittedThisTick = 0;
    results.forEach((result, index) => {
      const id = ids[index] as number;
      if (result.status === 'rejected') return this.skipped(id, result.reason);
      ticked.push(id);
      // The 8th figure (salesClosed) says nothing the tick acts on.
      const [admitted = 0, expired = 0, waiting = 0, active = 0, droppedWaiting = 0, droppedActive = 0, opened = 0, , leftLine = 0, soldOutNow = 0, watched = 0] = result.value;
      this.metrics.admitted.inc(admitted);
      admittedThisTick += admitted;
      this.metrics.expired.inc(expired);
      this.metrics.droppedAbsent.inc({ state: 'waiting' }, droppedWaiting);
      this.metrics.droppedAbsent.inc({ state: 'active' }, droppedActive);
      // An idle fan's slot went to the next in line when this tick admitted someone in its place.
      this.metrics.slotsRecycled.inc(Math.min(droppedActive, admitted));
      if (opened) {
        this.metrics.salesOpened.inc();
        this.logger.info({ concert: id, waiting, admitted }, 'sales opened: the pre-queue is now the line');
      }
      if (soldOutNow === 1) {
        this.metrics.soldOut.inc();
        this.logger.info({ concert: id, leftLine }, 'concert sold out: the line (and pre-queue) is closed');
      }
      if (waiting === 0 && active === 0 && watched === 0) empty.push(id);
    });
    this.metrics.admittedPerTick.observe(admittedThisTick);
    const unrecorded = await this.inventory.rememberSoldOut(ticked.filter((id) => soldOut.has(id)));
    // A sold-out line not yet recorded stays in the tick's index: the next tick records it.
    await this.dropEmpty(empty.filter((id) => !unrecorded.has(id)));
    const head = JSON.stringify({ concerts: ticked }).slice(0, -1);
    const seq = await runScript(this.redis, PUBLISH_TICK, { seq: this.keys.tickSeq }, this.keys.channels.queueTicks, head);
    endTimer();
    return { concerts: ticked, seq };
  }

  /**
   * Of the lines whose seat counts read sold out, those MySQL says are (one SQL query): a line closes,
   * and stays closed, on MySQL's word, not the bitmaps' alone, for a cancellation whose seat count was
   * never updated would otherwise keep it closed for good. A line closed already and confirmed within
   * SOLD_OUT_RECONFIRM_TICKS is not asked about again. While MySQL does not answer, no line opens or closes.
   */
  private async confirmSoldOut(soldOutByCount: readonly number[], closedBefore: ReadonlySet<number>): Promise<Set<number>> {
    // A monotonic clock: a wall clock stepped back would leave a line unconfirmed for as long.
    const now = performance.now();
    const recently = now - this.settings.admissionIntervalMs * SOLD_OUT_RECONFIRM_TICKS;
    for (const [id, at] of this.soldOutConfirmedAt) if (at <= recently) this.soldOutConfirmedAt.delete(id);
    const lately = soldOutByCount.filter((id) => closedBefore.has(id) && this.soldOutConfirmedAt.has(id));
    const asked = soldOutByCount.filter((id) => !lately.includes(id));
    if (asked.length === 0) return new Set(lately);
    try {
      const confirmed = await this.inventory.confirmSoldOut(asked);
      for (const id of asked) {
        if (confirmed.has(id)) this.soldOutConfirmedAt.set(id, now);
        else this.soldOutConfirmedAt.delete(id);
      }
      return new Set([...lately, ...confirmed]);
    } catch {
      return new Set([...lately, ...asked.filter((id) => closedBefore.has(id))]);
    }
  }

  /** A concert this tick could not work on (its keys corrupt, or its node away on a Cluster): logged, and the others go on. */
  private skipped(concertId: number, error: unknown): undefined {
    this.logger.error({ err: error, concert: concertId }, 'admission tick failed for this concert; skipped');
    return undefined;
  }

  /**
   * Puts the concert in the tick's index (see queuedConcerts). Only once the script that gave it work
   * (an entry, a registration) has answered, as dropFromWorkIndex relies on: on a Redis Cluster the
   * index lives on another node, and sent together the SADD could land first, a tick find nothing to
   * do and drop the concert, and the work wait where no tick looks.
   */
  private async keepVisited(...concertIds: number[]): Promise<void> {
    if (concertIds.length > 0) await this.redis.sadd(this.keys.queueIndex, ...concertIds);
  }

  /**
   * The seat counts of the concerts the tick visits, of those it closed as sold out whose last show is
   * still to come, and of those whose seats were sold or cancelled lately (noteChanging), checked
   * against MySQL (InventoryService.reconcile). A sold-out concert
   * leaves the tick's index once its line is empty; a cancellation whose follow-up in Redis was lost
   * (the process killed after its commit, Redis failing then) would otherwise keep it sold out for
   * good, its seat never offered again, with nobody in line to make a tick look. Such a concert's
   * counts are rebuilt, and it goes back to the tick, which opens its line again. Returns the
   * concerts noted changing, for what else a lost follow-up left behind (HoldService.releaseSold).
   */
  async checkInventory(): Promise<number[]> {
    const [soldOut, changing] = await Promise.all([
      this.inventory.soldOutConcerts().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not read the sold-out concerts; checking the others only');
        return [];
      }),
      this.inventory.changingConcerts().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not read the concerts whose seats changed lately; checking the others only');
        return undefined;
      }),
    ]);
    const queued = await this.queuedConcerts();
    await this.keepVisited(...(await this.inventory.reconcile([...new Set([...queued, ...soldOut, ...(changing?.concertIds ?? [])])])));
    if (changing) await this.inventory.forgetSettled(changing);
    return changing?.concertIds ?? [];
  }

  /**
   * The concerts with anyone in line, ACTIVE, or followed live (a queueStatus or seatChanged feed):
   * those the admission tick visits. A followed concert stays even with nobody in line, so a fan
   * watching it hears seatsLeft move (a hold lapsing, a cancellation) within a tick.
   */
  async queuedConcerts(): Promise<number[]> {
    return (await this.redis.smembers(this.keys.queueIndex)).map(Number);
  }

  /**
   * Each concert of the tick's index as Redis has it now, for the metrics (one script call each, the
   * figures status replies carry): fans in line (in the pre-queue while sales are closed), ACTIVE,
   * and the seats left the last tick stored (while valid).
   */
  async lineFigures(): Promise<LineFigures[]> {
    return Promise.all(
      (await this.queuedConcerts()).map(async (concert) => {
        const { figures } = decodeStatusReply(await runScript(this.redis, QUEUE_FIGURES_NOW, this.keys.queue(concert)));
        const closed = figures.salesOpensAt >= 0;
        const seatsLeft = figures.seatsLeft >= 0 ? figures.seatsLeft : undefined;
        return { concert, waiting: closed ? 0 : figures.waiting, prequeue: closed ? figures.waiting : 0, active: figures.active, seatsLeft };
      }),
    );
  }

  /** Removes concerts with nobody in line, ACTIVE or followed from the tick's index (see dropFromWorkIndex). */
  private async dropEmpty(ids: number[]): Promise<void> {
    for (const id of ids) {
      const k = this.keys.queue(id);
      // A failure is logged and this tick still announced; the concert may be left out of the index
      // (dropFromWorkIndex removes first, then checks), until an entry or a sign of presence puts it back.
      await dropFromWorkIndex(this.redis, this.keys.queueIndex, id, async () => {
        const [[, waiting], [, active], [, watched]] = (await this.redis.multi().zcard(k.wait).zcard(k.active).hlen(k.watchCount).exec()) as [[null, number], [null, number], [null, number]];
        return waiting + active + watched > 0;
      }).catch((error: unknown) => this.logger.warn({ err: error, concert: id }, 'could not drop an empty concert from the tick’s index'));
    }
  }

  /**
   * Capacities from MySQL; while MySQL is away, the last ones read, so the line keeps moving on Redis
   * alone (and for a concert this process never read, UNKNOWN_CAPACITY: the line's own stored one).
   */
  private async capacities(ids: number[]): Promise<Map<number, number>> {
    try {
      const read = await this.concerts.capacities(ids);
      for (const [id, capacity] of read) this.knownConcerts.set(id, capacity);
      return read;
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read capacities from MySQL; admitting with the last known ones');
      return new Map(ids.map((id) => [id, this.knownConcerts.get(id) ?? UNKNOWN_CAPACITY]));
    }
  }

  /** The concert's capacity as this process knows it (read once, see SharedReads); NOT_FOUND for an unknown concert. */
  async requireConcert(concertId: number): Promise<number> {
    let known = this.knownConcerts.get(concertId);
    if (known === undefined) {
      await this.capacityReads.await([concertId], async () => {
        const concert = await this.concerts.find(concertId);
        if (!concert) throw notFound('concert');
        this.knownConcerts.set(concertId, concert.maxActiveUsers);
      });
      known = this.knownConcerts.get(concertId) as number;
    }
    return known;
  }

  /** A status script's reply decoded; fans it found gone (and dropped, see forgetIfAbsent) are counted as the tick's drops are. */
  private decodeStatus(reply: number[]): { figures: QueueFigures; places: Place[] } {
    const decoded = decodeStatusReply(reply);
    this.countLapses(decoded);
    return decoded;
  }

  private countLapses({ figures, places }: { figures: QueueFigures; places: readonly Place[] }): void {
    // A fan found lapsed has left the line: the figures count only the others.
    for (const place of places) if (place.state === QueueState.NONE) this.countLapse(place.lapsed, figures.waiting);
  }

  /**
   * As the tick counts its drops. A slot taken from an idle fan while others wait counts as recycled
   * now: the next of them gets it at the next tick (the tick counts the slots it hands on itself).
   */
  private countLapse(lapse: Lapse | undefined, othersWaiting: number): void {
    if (!lapse) return;
    this.metrics.droppedAbsent.inc({ state: lapse });
    if (lapse === 'active' && othersWaiting > 0) this.metrics.slotsRecycled.inc();
  }

  private async toStatus(concertId: number, { figures, places }: { figures: QueueFigures; places: Place[] }): Promise<QueueStatus> {
    return this.statusOf(concertId, places[0] ?? { state: QueueState.NONE }, await this.withSeatsLeft(concertId, figures));
  }

  /**
   * The figures with seatsLeft known: as the last tick wrote it, or (no recent tick: nobody in line
   * lately, or no worker running) read from the inventory now and kept for the next readers. A
   * concert found sold out that way whose line is not closed (Redis lost the closed mark, and nobody
   * has entered since, whose entry would close it) is closed now, once MySQL confirms it: a fan who
   * only asks is told SOLD_OUT, not NONE.
   */
  private async withSeatsLeft(concertId: number, figures: QueueFigures): Promise<QueueFigures> {
    if (figures.seatsLeft >= 0) return figures;
    const inventory = (await this.inventory.ofConcerts([concertId])).get(concertId);
    const seatsLeft = inventory?.available ?? 0;
    // MySQL away: answered from Redis, as before (the next read, or a tick, closes it).
    const soldOut = figures.soldOut || (inventory?.soldOut === true && (await this.closeSoldOut([concertId]).catch(() => new Set<number>())).has(concertId));
    await runScript(this.redis, QUEUE_SEATS_LEFT, this.keys.queue(concertId), seatsLeft, this.settings.seatsLeftTtlMs);
    return { ...figures, seatsLeft, soldOut };
  }

}

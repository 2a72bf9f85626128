import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import { watchSubscriptions, type RedisClient } from '../redis';
import { ActiveGate, slotEnded } from './active-gate';
import { placeAfter, type Departures } from './departures';
import { LatestValueStream } from './latest-value-stream';
import type { QueueService, TickMessage } from './queue-service';
import { BEAT_FORGOTTEN, BEAT_MISMATCHED } from '../redis/queue-scripts';
import { QueueState, type QueueStatus } from './queue-state';
import type { QueueFigures, ScoredPlace } from './queue-status';
import type { StatusListener } from './status-listener';

/** One open queueStatus subscription on this process. */
class Watcher extends LatestValueStream<QueueStatus> implements StatusListener {
  constructor(
    private readonly live: LiveQueueStatus,
    readonly userId: number,
    readonly concertId: number,
  ) {
    super();
  }

  /**
   * SOLD_OUT included: the subscription stays open past it, so the fans out of a closed line hear at
   * once (NONE, with seatsLeft) when a cancellation makes the concert sell again, where their pages
   * would otherwise each ask for the concert over and over.
   */
  update(status: QueueStatus): boolean {
    this.push(status);
    return true;
  }

  protected override onClose(): void {
    this.live.unlisten(this);
  }
}

/** One fan followed on this process: their listeners and their place as of log position `since`. */
interface Fan {
  listeners: StatusListener[];
  place: ScoredPlace;
  since: number;
  /**
   * What every listener of the fan was last pushed: the place, the figures' shownPrint and the wait
   * estimate (all a status shows). A push that would repeat it is skipped. References to objects
   * kept anyway (the place, the round's one print) and a number: no allocation per fan.
   */
  sentPlace: ScoredPlace | undefined;
  sentPrint: string;
  sentWait: number | null;
}

interface Join {
  listener: StatusListener;
  resolve: (status: QueueStatus) => void;
  reject: (error: unknown) => void;
}

/** A follower of a concert's fans, as Redis knows it: random, so replicas never share one. */
const replicaId = () => randomBytes(8).toString('hex');

/** What this process follows of one concert, and the work its loop has to do. */
class FollowedConcert {
  readonly fans = new Map<number, Fan>();
  /** The log this process follows (its epoch) and the last entry applied; -1 before the first read. */
  epoch = -1;
  cursor = -1;
  /** The stamp of the entry at `cursor`, as read with it (QueueFigures.logAt). */
  cursorAt = '';
  figures: QueueFigures | undefined;
  /** What every fan was last pushed of the concert-wide figures. */
  pushedPrint = '';
  /** The line's counts every fan was last pushed (countsPrint), and when (ms). */
  pushedCounts = '';
  countsPushedAt = 0;
  joins: Join[] = [];
  readonly changed = new Set<number>();
  /**
   * Fans a push (or a joining listener's first status) skipped because their own change was pending
   * (see push): the read that follows pushes them their place whatever it finds, for the skipped
   * step may have moved the place to what that read finds too.
   */
  readonly owed = new Set<number>();
  readonly leaving = new Set<number>();
  /**
   * Fans whose presence this process still holds in Redis, kept from their last subscription for a
   * join not yet admitted (see join): held, though neither followed nor leaving for now.
   */
  readonly keptForJoin = new Set<number>();
  tick = false;
  beat = false;
  resync = false;
  running = false;
  /** How long the loop waits after its next failed step (see pause). */
  retryMs = FIRST_RETRY_MS;

  constructor(
    readonly id: number,
    /** This process, as the concert's presence holds name it: the process's id, a new one after BEAT_MISMATCHED. */
    public replica: string,
  ) {}

  /**
   * Every fan whose presence this process holds here, once each: its fans, those leaving whose release
   * failed, and those kept for a pending join. Walked, not copied: a beat over 20,000 fans every few
   * seconds would otherwise make a set of them each time.
   */
  *held(): Generator<number> {
    yield* this.fans.keys();
    for (const user of this.leaving) if (!this.fans.has(user)) yield user;
    for (const user of this.keptForJoin) if (!this.fans.has(user) && !this.leaving.has(user)) yield user;
  }

  hasWork(): boolean {
    return this.tick || this.beat || this.resync || this.joins.length > 0 || this.changed.size > 0 || this.leaving.size > 0;
  }
}

/** The first wait after a failed step; it doubles with each failure in a row, up to the beat interval. */
const FIRST_RETRY_MS = 250;

/** Pushes between yields to the event loop (see push). */
const PUSH_SLICE = 256;

/**
 * How often at most every fan is pushed the line's counts alone (`waiting`, `active`) and the pace
 * behind `estimatedWaitSeconds`: they move with every entry and admission, and a fan whose own place
 * does not move (at the front of a line stalled by long turns, or ACTIVE) would otherwise see the
 * figures of their first status for as long.
 */
export const COUNTS_PUSH_MS = 5000;

/** The line's counts and pace, pushed to everyone when they changed, at most every COUNTS_PUSH_MS. */
const countsPrint = (f: QueueFigures) => `${f.waiting}|${f.active}|${f.ratePerMinute}|${f.capacity}`;

/** The concert-wide part of a status that is pushed when it changes (the rest moves with every tick). */
const figuresPrint = (f: QueueFigures) => `${f.seatsLeft}|${f.salesOpensAt}|${f.soldOut}`;

/** The figures a status shows as they are (the pace and capacity show only through the wait estimate). */
const shownPrint = (f: QueueFigures) => `${figuresPrint(f)}|${f.waiting}|${f.active}`;

const samePlace = (a: ScoredPlace, b: ScoredPlace) =>
  a.state === b.state &&
  (a.state !== QueueState.WAITING || a.position === (b as typeof a).position) &&
  (a.state !== QueueState.ACTIVE || a.activeUntil === (b as typeof a).activeUntil);

/**
 * Pushes each local queueStatus subscriber its own status after every admission tick, and ends
 * subscriptions that need ACTIVE (seatChanged) once their fan is no longer ACTIVE.
 *
 * Redis work per tick does not grow with subscribers. When a fan starts being followed here, one
 * script call (batched with the others that arrive together) reads their place, their score in the
 * line and the departures log's position. After that, each tick costs one call per concert: the
 * figures and the log entries since the last one (who left, from which score, who was admitted),
 * from which this process moves every fan it follows: a WAITING fan's position drops by the number
 * of departures with a lower score, exactly what ZRANK would say. Only a log that started over
 * (Redis lost its data), a gap (this process fell thousands of entries behind) or the opening of
 * sales (pre-queue places become positions) makes it read every place anew, once.
 *
 * The same registration is the fans' presence: while a fan has a subscription here, this process
 * holds their presence in Redis (it never lapses) and beats once per interval per concert; a tick
 * that finds a replica silent for a whole grace releases its fans, whose presence then counts from
 * its last beat. So presence also costs nothing per fan per tick.
 *
 * Each concert's work (joins, ticks, fans' own changes, releases, beats) runs in one loop, one step
 * at a time, so every place and the log position it belongs to stay consistent.
 */
export class LiveQueueStatus {
  private readonly concerts = new Map<number, FollowedConcert>();
  /** This process, as Redis knows it while it follows fans. */
  private readonly replica = replicaId();
  private beatTimer: NodeJS.Timeout | undefined;
  /** The last admission tick heard of (TickMessage.seq): a gap means lost messages. */
  private lastTick: number | undefined;
  private stopWatchingSubscriber: () => void = () => {};

  constructor(
    private readonly queue: QueueService,
    private readonly subscriber: RedisClient,
    private readonly channel: string,
    private readonly beatIntervalMs: number,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // A fan's own change made on this process, heard before its answer leaves (the message below may come later).
    this.queue.onOwnChange((id, userId) => this.ownChange(id, userId));
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const tick = JSON.parse(message) as TickMessage;
      if (tick.seq !== undefined) {
        const missed = this.lastTick !== undefined && tick.seq !== this.lastTick + 1;
        this.lastTick = tick.seq;
        // Messages were lost while the subscription was away without a reconnect this process heard
        // of (on a Redis Cluster ioredis moves its subscriber to another node and says nothing; the
        // move is watched for, see watchSubscriptions, and this is the backstop). A fan's own
        // change (not in the departures log) may be among them.
        if (missed) this.resyncAll();
      }
      for (const id of tick.concerts) {
        const concert = this.concerts.get(id);
        if (concert) this.schedule(concert, () => (concert.tick = true));
      }
      for (const [id, userId] of tick.fans ?? []) this.ownChange(id, userId);
    });
    await this.subscriber.subscribe(this.channel);
    // Messages published while the subscription was down are lost, a fan's own enter among them (it
    // is not in the log): after a reconnect (on a Cluster, a move of the subscriber, of which ioredis
    // says nothing) every followed place is read anew, once, after the channel is live again (one
    // Redis says it is back before it subscribes again: the answer to our own SUBSCRIBE says so),
    // so no change falls between the read and the channel.
    this.stopWatchingSubscriber = watchSubscriptions(this.subscriber, {
      restored: () => {
        this.lastTick = undefined;
        void this.subscriber
          .subscribe(this.channel)
          .catch((error: unknown) => this.logger.warn({ err: error }, 'queue feeds could not subscribe again after the Redis subscription came back; reading every place anew'))
          .then(() => this.resyncAll());
      },
    });
    this.beatTimer = setInterval(() => {
      for (const concert of this.concerts.values()) this.schedule(concert, () => (concert.beat = true));
    }, this.beatIntervalMs);
    this.beatTimer.unref();
  }

  stop(): void {
    clearInterval(this.beatTimer);
    this.stopWatchingSubscriber();
  }

  /**
   * A fan changed their own status (enter, leave, pay): their place is read anew (refreshChanged).
   * Also for a fan not followed yet: their join may be reading the place from before this change.
   */
  private ownChange(concertId: number, userId: number): void {
    const concert = this.concerts.get(concertId);
    if (concert) this.schedule(concert, () => concert.changed.add(userId));
  }

  /** Every followed fan's place read anew, once per concert (see resync). */
  private resyncAll(): void {
    for (const concert of this.concerts.values()) this.schedule(concert, () => (concert.resync = true));
  }

  /** The caller's status stream: their status now, then every change. NOT_FOUND for an unknown concert. */
  async watch(userId: number, concertId: number): Promise<AsyncIterable<QueueStatus>> {
    await this.queue.requireConcert(concertId);
    const watcher = new Watcher(this, userId, concertId);
    await this.join(watcher);
    return watcher;
  }

  /**
   * `source` for as long as the fan stays ACTIVE in this concert: NOT_ACTIVE at once if they are not,
   * and the first tick that finds them otherwise ends it with NOT_ACTIVE.
   */
  async whileActive<T>(userId: number, concertId: number, source: AsyncIterable<T>): Promise<AsyncIterable<T>> {
    const iterator = source[Symbol.asyncIterator]();
    const gate = new ActiveGate(userId, concertId, iterator, () => this.unlisten(gate));
    let status: QueueStatus;
    try {
      status = await this.join(gate);
    } catch (error) {
      await iterator.return?.();
      throw error;
    }
    // A slot that ended while the feed was being set up. The gate closed itself on that status, or,
    // when the fan's own change was pending, never heard it (see admitJoins): closed here, it lets go
    // of its source and its fan.
    if (status.state !== QueueState.ACTIVE) {
      gate.interrupt(slotEnded());
      throw slotEnded();
    }
    return gate;
  }

  /** A listener ended; the last one of a fan releases their presence here. */
  unlisten(listener: StatusListener): void {
    const concert = this.concerts.get(listener.concertId);
    const fan = concert?.fans.get(listener.userId);
    const index = fan?.listeners.indexOf(listener) ?? -1;
    if (!concert || !fan || index < 0) return;
    fan.listeners.splice(index, 1);
    if (listener instanceof Watcher) this.metrics.liveSubscribers.dec();
    if (fan.listeners.length > 0) return;
    concert.fans.delete(listener.userId);
    concert.owed.delete(listener.userId);
    this.schedule(concert, () => concert.leaving.add(listener.userId));
  }

  /** Adds the listener to its fan once the fan's place is read (and their presence held): resolves with their status. */
  private join(listener: StatusListener): Promise<QueueStatus> {
    let concert = this.concerts.get(listener.concertId);
    if (!concert) {
      concert = new FollowedConcert(listener.concertId, this.replica);
      this.concerts.set(concert.id, concert);
    }
    const followed = concert;
    return new Promise((resolve, reject) =>
      this.schedule(followed, () => {
        // Still held from the fan's last subscription: no need to release it and hold it again.
        if (followed.leaving.delete(listener.userId)) followed.keptForJoin.add(listener.userId);
        followed.joins.push({ listener, resolve, reject });
      }),
    );
  }

  private schedule(concert: FollowedConcert, work: () => void): void {
    work();
    if (!concert.running) void this.run(concert);
  }

  /** The concert's loop: one step at a time until nothing is left to do. */
  private async run(concert: FollowedConcert): Promise<void> {
    concert.running = true;
    try {
      while (concert.hasWork()) {
        if (concert.leaving.size > 0) await this.release(concert);
        if (concert.joins.length > 0) await this.admitJoins(concert);
        if (concert.beat) await this.beat(concert);
        if (concert.resync) await this.resync(concert);
        else if (concert.tick) await this.follow(concert);
        if (concert.changed.size > 0) await this.refreshChanged(concert);
      }
      // Every step went through: the next failure is a new one.
      concert.retryMs = FIRST_RETRY_MS;
    } finally {
      concert.running = false;
      if (concert.fans.size === 0 && concert.joins.length === 0 && concert.leaving.size === 0) this.concerts.delete(concert.id);
    }
  }

  private async release(concert: FollowedConcert): Promise<void> {
    // A fan followed again meanwhile keeps their presence: a join whose place was being read when the
    // fan's last listener ended has made them a fan again (adopt), with the presence that join holds.
    const users = [...concert.leaving].filter((user) => !concert.fans.has(user));
    concert.leaving.clear();
    if (users.length === 0) return;
    try {
      await this.queue.unwatch(concert.id, concert.replica, users);
    } catch (error) {
      // Kept for the next step: a presence held for good would keep an absent fan in line.
      for (const user of users) if (!concert.fans.has(user)) concert.leaving.add(user);
      this.logger.warn({ err: error, concertId: concert.id }, 'releasing presence failed; retried at the next tick');
      await this.pause(concert);
    }
  }

  /** Reads the joining fans' places (holding their presence), then adds each listener with its first status. */
  private async admitJoins(concert: FollowedConcert): Promise<void> {
    const joins = concert.joins;
    concert.joins = [];
    const users = [...new Set(joins.map((join) => join.listener.userId))];
    let changed: Map<number, ScoredPlace>;
    try {
      changed = this.adopt(concert, users, await this.queue.watchPlaces(concert.id, concert.replica, users, true), true);
    } catch (error) {
      for (const join of joins) join.reject(error);
      // A fan whose earlier subscription's presence was kept for this join: nobody holds it now.
      for (const user of users) if (!concert.fans.has(user)) concert.leaving.add(user);
      return;
    } finally {
      // Followed now, or leaving: held either way.
      for (const user of users) concert.keptForJoin.delete(user);
    }
    const figures = concert.figures as QueueFigures;
    // Every listener joins its fan before any hears a status: a gate that closes on its first status
    // must not take its fan away from a listener of the same fan still joining.
    const joined = joins.map((join) => {
      const fan = concert.fans.get(join.listener.userId) as Fan;
      fan.listeners.push(join.listener);
      if (join.listener instanceof Watcher) this.metrics.liveSubscribers.inc();
      return { join, status: this.queue.statusOf(concert.id, fan.place, figures) };
    });
    for (const { join, status } of joined) {
      // A changed place reaches every listener of the fan below, the new ones with it; a place the
      // fan's own change made stale meanwhile, from the read that follows (see push).
      const pending = concert.changed.has(join.listener.userId);
      if (pending) concert.owed.add(join.listener.userId);
      if (!changed.has(join.listener.userId) && !pending && join.listener.update(status)) this.metrics.statusPushes.inc();
      // The fan's listeners no longer all heard the same: the next push goes to each.
      const fan = concert.fans.get(join.listener.userId);
      if (fan) fan.sentPlace = undefined;
      join.resolve(status);
    }
    await this.push(concert, changed);
  }

  private async beat(concert: FollowedConcert): Promise<void> {
    concert.beat = false;
    if (concert.fans.size === 0) return;
    try {
      // Those leaving are the ones whose release failed (run releases the others before this step),
      // those kept for a join came during this step's earlier work.
      const verdict = await this.queue.heartbeat(concert.id, concert.replica, concert.held());
      // Forgotten (Redis lost its data, or a tick took this process for dead while it stalled): hold them again.
      if (verdict === BEAT_FORGOTTEN) concert.resync = true;
      if (verdict === BEAT_MISMATCHED) {
        // Holds lost, or holds of fans let go come back (Redis restored from an older snapshot): the
        // fans are held again under a new id; the old one, silent from now, is released as a dead
        // replica's, and whoever it held for nobody lapses a grace later.
        this.logger.warn({ concertId: concert.id }, 'presence holds in Redis differ from the fans this process follows; holding them anew');
        concert.replica = replicaId();
        // Held under the old id only, which is released as a dead replica's; joins pending register under the new one.
        concert.leaving.clear();
        concert.keptForJoin.clear();
        concert.resync = true;
      }
    } catch (error) {
      this.logger.warn({ err: error, concertId: concert.id }, 'presence heartbeat failed; the next beat retries');
    }
  }

  /** Reads every followed fan's place anew (and holds their presence again). */
  private async resync(concert: FollowedConcert): Promise<void> {
    concert.resync = false;
    concert.tick = false;
    this.metrics.liveResyncs.inc();
    const users = [...concert.fans.keys()];
    if (users.length === 0) return;
    try {
      const read = await this.queue.watchPlaces(concert.id, concert.replica, users, true);
      const places = this.adopt(concert, users, read);
      // Every fan was read at or after the first batch's log position: the log is followed from there
      // (else the opening or gap that asked for this would ask again at every tick).
      if (!concert.resync) this.moveCursor(concert, read.reduce((earliest, { figures }) => (figures.logSeq < earliest.logSeq ? figures : earliest), read[0]!.figures));
      // Concert-wide figures (seatsLeft, salesOpenAt…) that changed while the feed was away reach every fan.
      const print = figuresPrint(concert.figures as QueueFigures);
      if (print !== concert.pushedPrint) for (const [userId, fan] of concert.fans) places.set(userId, fan.place);
      concert.pushedPrint = print;
      await this.push(concert, places);
    } catch (error) {
      concert.resync = true;
      this.logger.warn({ err: error, concertId: concert.id }, 'reading live places failed; the next tick retries');
      await this.pause(concert);
    }
  }

  /** The fans who changed their own status (enter, leave, pay): their places read anew. */
  private async refreshChanged(concert: FollowedConcert): Promise<void> {
    const users = [...concert.changed].filter((user) => concert.fans.has(user));
    concert.changed.clear();
    if (users.length === 0) return;
    try {
      const places = this.adopt(concert, users, await this.queue.watchPlaces(concert.id, concert.replica, users, false));
      for (const user of users) if (concert.owed.delete(user)) places.set(user, (concert.fans.get(user) as Fan).place);
      await this.push(concert, places);
    } catch (error) {
      for (const user of users) concert.changed.add(user);
      this.logger.warn({ err: error, concertId: concert.id }, 'pushing fans their own change failed; retried shortly');
      await this.pause(concert);
    }
  }

  /** One tick: the figures and the departures since the last one move every followed fan. */
  private async follow(concert: FollowedConcert): Promise<void> {
    concert.tick = false;
    // Nothing read yet: the first join reads places and the log position together.
    if (concert.epoch === -1) return;
    let read: Awaited<ReturnType<QueueService['departuresSince']>>;
    try {
      read = await this.queue.departuresSince(concert.id, concert.cursor);
    } catch (error) {
      this.logger.warn({ err: error, concertId: concert.id }, 'queue status refresh failed; the next tick retries');
      return;
    }
    const { figures, entries } = read;
    const contiguous = entries !== null && figures.logSeq >= concert.cursor && (entries[0]?.seq ?? figures.logSeq + 1) === concert.cursor + 1;
    const complete = contiguous && (entries.at(-1)?.seq ?? concert.cursor) === figures.logSeq;
    // The entry this process applied last is still the log's (see LOG_DEPARTURES): the first new one
    // names it, or, none new, it is still the last.
    const first = entries?.[0];
    // An entry of an earlier version names none (a rolling deploy): not taken for a break (so a
    // failover whose first new entry an older replica wrote goes unseen: the price of the deploy).
    const chained = first ? first.before === undefined || first.before === concert.cursorAt : figures.logAt === concert.cursorAt;
    if (figures.logEpoch !== concert.epoch || !complete || !chained || entries.some((entry) => entry.opened)) {
      concert.resync = true;
      return;
    }
    concert.figures = figures;
    this.moveCursor(concert, figures);
    const print = figuresPrint(figures);
    const now = Date.now();
    const countsDue = countsPrint(figures) !== concert.pushedCounts && now - concert.countsPushedAt >= COUNTS_PUSH_MS;
    const everyone = print !== concert.pushedPrint || countsDue;
    // Nobody left and nothing concert-wide changed: no fan's status moved.
    if (entries.length === 0 && !everyone) return;
    concert.pushedPrint = print;
    if (everyone) {
      concert.pushedCounts = countsPrint(figures);
      concert.countsPushedAt = now;
    }
    const changed = new Map<number, ScoredPlace>();
    for (const [userId, fan] of concert.fans) {
      const moved = this.advance(fan, userId, entries);
      if (moved || everyone) changed.set(userId, fan.place);
    }
    await this.push(concert, changed);
  }

  /** The log followed from the entry these figures were read at. */
  private moveCursor(concert: FollowedConcert, figures: QueueFigures): void {
    concert.cursor = figures.logSeq;
    concert.cursorAt = figures.logAt;
  }

  /** Applies the entries the fan's place does not include yet; true if the place changed. */
  private advance(fan: Fan, userId: number, entries: Departures[]): boolean {
    const before = fan.place;
    for (const entry of entries) if (entry.seq > fan.since) fan.place = placeAfter(fan.place, userId, entry);
    fan.since = Math.max(fan.since, entries.at(-1)?.seq ?? fan.since);
    return fan.place !== before && !samePlace(fan.place, before);
  }

  /**
   * Takes places read from Redis as the fans' new baselines (creating the fans of `joining`), and
   * the freshest figures; returns the places that differ from what the fans had.
   */
  private adopt(concert: FollowedConcert, users: number[], read: Awaited<ReturnType<QueueService['watchPlaces']>>, joining = false): Map<number, ScoredPlace> {
    const changed = new Map<number, ScoredPlace>();
    let index = 0;
    for (const { figures, places, forgotten } of read) {
      // Registering fans of a replica a tick took for dead (its other fans released): hold them all again.
      if (forgotten && concert.fans.size > 0) concert.resync = true;
      if (figures.logEpoch !== concert.epoch) {
        // A new log (or the first read): every fan's place must come from it.
        if (concert.epoch !== -1) concert.resync = true;
        concert.epoch = figures.logEpoch;
        this.moveCursor(concert, figures);
      }
      // Behind what this process followed (the log only grows, and reads here never overlap its
      // following): a failover took the log back. Its entries from here on may not be those applied.
      if (figures.logSeq < concert.cursor) {
        concert.resync = true;
        this.moveCursor(concert, figures);
      }
      concert.figures = figures;
      for (const place of places) {
        const userId = users[index++] as number;
        const fan = concert.fans.get(userId);
        if (!fan) {
          // A fan who left while their place was being read is not followed again (the loop releases them next).
          if (joining) concert.fans.set(userId, { listeners: [], place, since: figures.logSeq, sentPlace: undefined, sentPrint: '', sentWait: null });
          continue;
        }
        if (!samePlace(fan.place, place)) changed.set(userId, place);
        fan.place = place;
        fan.since = figures.logSeq;
      }
    }
    if (concert.pushedPrint === '' && concert.figures) {
      // The first fans followed here were read with these figures: their baseline.
      concert.pushedPrint = figuresPrint(concert.figures);
      concert.pushedCounts = countsPrint(concert.figures);
      concert.countsPushedAt = Date.now();
    }
    return changed;
  }

  /** Pushes the fans their statuses, yielding to the event loop every few hundred messages. */
  private async push(concert: FollowedConcert, places: Map<number, ScoredPlace>): Promise<void> {
    const figures = concert.figures;
    if (!figures) return;
    const print = shownPrint(figures);
    let pushed = 0;
    for (const [userId, place] of places) {
      const fan = concert.fans.get(userId);
      const listeners = fan?.listeners;
      if (!fan || !listeners || listeners.length === 0) continue;
      // The fan changed their own status since this place was read (an enter, a leave, a payment
      // heard between two slices of a long push): the place is stale, and this very loop reads it
      // anew next (refreshChanged), which owes them a push. Pushed now, it could reach the fan after
      // their own request's answer.
      if (concert.changed.has(userId)) {
        concert.owed.add(userId);
        continue;
      }
      const status = this.queue.statusOf(concert.id, place, figures);
      // Heard already (the fan's own change carried the line's new counts, say): not again.
      if (fan.sentPrint === print && fan.sentWait === status.estimatedWaitSeconds && fan.sentPlace && samePlace(fan.sentPlace, place)) continue;
      fan.sentPlace = place;
      fan.sentPrint = print;
      fan.sentWait = status.estimatedWaitSeconds;
      // A gate that closes leaves the array: walk a copy when there is more than one.
      for (const listener of listeners.length === 1 ? listeners : [...listeners]) {
        // Let each slice be executed and written before pushing more: otherwise all N executions are
        // alive at once, survive into the old heap, and the first fan hears only when the last does.
        if (listener.update(status) && ++pushed % PUSH_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    this.metrics.statusPushes.inc(pushed);
  }

  /**
   * After a failed step: lets Redis (or the network) recover before the loop tries again, briefly at
   * first (a reconnect's first read can fail only because the command connection is back a moment
   * after the subscription that asked for it), then longer, up to the beat interval.
   */
  private pause(concert: FollowedConcert): Promise<void> {
    const waitMs = Math.min(concert.retryMs, this.beatIntervalMs);
    concert.retryMs = waitMs * 2;
    return new Promise((resolve) => setTimeout(resolve, waitMs).unref());
  }
}

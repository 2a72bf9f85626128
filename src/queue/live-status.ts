import type { RedisClient } from '../redis';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import { QueueState, type QueueStatus } from './queue-state';
import type { StatusListener } from './status-listener';
import { ActiveGate } from './active-gate';
import { LatestValueStream } from './latest-value-stream';
import type { QueueService, TickMessage } from './queue-service';

/** One open queueStatus subscription on this process. */
class Watcher extends LatestValueStream<QueueStatus> implements StatusListener {
  constructor(
    private readonly live: LiveQueueStatus,
    readonly userId: number,
    readonly concertId: number,
    /** What was last sent: a status is pushed only when state, position, activeUntil, salesOpenAt or seatsLeft changes. */
    private sent: string,
  ) {
    super();
  }

  update(status: QueueStatus, print: string): boolean {
    if (this.sent === print) return false;
    this.sent = print;
    this.send(status);
    return true;
  }

  /** SOLD_OUT is the last word: the fan is out of a closed line, so the subscription completes after it. */
  send(status: QueueStatus): void {
    if (status.state === QueueState.SOLD_OUT) this.finish(status);
    else this.push(status);
  }

  protected override onClose(): void {
    this.live.unwatch(this);
  }
}

/** Pushes between yields to the event loop (see pushChanges). */
const PUSH_SLICE = 256;

const fingerprint = (s: QueueStatus) => `${s.state}|${s.position ?? ''}|${s.activeUntil?.getTime() ?? ''}|${s.salesOpenAt?.getTime() ?? ''}|${s.seatsLeft}`;

/**
 * Pushes each local queueStatus subscriber its own status after every admission tick, and ends
 * subscriptions that need ACTIVE (seatChanged) once their fan is no longer ACTIVE.
 *
 * Ticks arrive from whichever replica ran them, over one Redis pub/sub channel. For each concert
 * in the tick that has subscribers here, this process asks Redis for all their statuses in one
 * script call per 5,000 users, then pushes only the ones that changed. So a tick costs each
 * replica one round trip per concert, not one per subscriber. Each subscription keeps only its
 * latest unsent status (LatestValueStream), which coalesces bursts for slow clients.
 *
 * That same call is how this replica reports presence: the status script marks every fan it finds
 * in line as seen, so a fan with an open queueStatus or seatChanged subscription here stays in line
 * whichever replica runs the tick, and stops being seen within the grace if this process dies.
 */
export class LiveQueueStatus {
  /** concert → user → that user's listeners on this process. */
  private readonly listeners = new Map<number, Map<number, StatusListener[]>>();
  /** Concerts whose refresh is running, and whether another tick came in meanwhile. */
  private readonly refreshing = new Map<number, boolean>();
  /** Fans who changed their own status, gathered for one status call per concert (see refreshFans). */
  private readonly changedFans = new Map<number, Set<number>>();

  constructor(
    private readonly queue: QueueService,
    private readonly subscriber: RedisClient,
    private readonly channel: string,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const tick = JSON.parse(message) as TickMessage;
      for (const concertId of tick.concerts) if (this.listeners.has(concertId)) void this.refresh(concertId);
      for (const [concertId, userId] of tick.fans ?? []) if (this.listeners.get(concertId)?.has(userId)) this.fanChanged(concertId, userId);
    });
    await this.subscriber.subscribe(this.channel);
  }

  /** The caller's status stream: `initial` at once, then every change. */
  watch(userId: number, concertId: number, initial: QueueStatus): AsyncIterable<QueueStatus> {
    const watcher = new Watcher(this, userId, concertId, fingerprint(initial));
    this.listen(watcher);
    this.metrics.liveSubscribers.inc();
    watcher.send(initial);
    return watcher;
  }

  /**
   * `source` for as long as the fan stays ACTIVE in this concert (checked by the caller when
   * subscribing): the first tick that finds them otherwise ends it with NOT_ACTIVE.
   */
  whileActive<T>(userId: number, concertId: number, source: AsyncIterable<T>): AsyncIterable<T> {
    const gate = new ActiveGate(userId, concertId, source[Symbol.asyncIterator](), () => this.unlisten(gate));
    this.listen(gate);
    return gate;
  }

  /** A queueStatus subscription ended. */
  unwatch(watcher: Watcher): void {
    this.metrics.liveSubscribers.dec();
    this.unlisten(watcher);
  }

  private unlisten(listener: StatusListener): void {
    const users = this.listeners.get(listener.concertId);
    const mine = users?.get(listener.userId);
    const index = mine?.indexOf(listener) ?? -1;
    if (!users || !mine || index < 0) return;
    mine.splice(index, 1);
    if (mine.length === 0) users.delete(listener.userId);
    if (users.size === 0) this.listeners.delete(listener.concertId);
  }

  private listen(listener: StatusListener): void {
    const users = this.listeners.get(listener.concertId) ?? new Map<number, StatusListener[]>();
    this.listeners.set(listener.concertId, users);
    // An array, not a Set: nearly always one subscription per fan, and a Set costs far more memory.
    const mine = users.get(listener.userId) ?? [];
    users.set(listener.userId, mine);
    mine.push(listener);
  }

  private async refresh(concertId: number): Promise<void> {
    if (this.refreshing.has(concertId)) {
      this.refreshing.set(concertId, true);
      return;
    }
    this.refreshing.set(concertId, false);
    try {
      do {
        this.refreshing.set(concertId, false);
        await this.pushChanges(concertId);
      } while (this.refreshing.get(concertId));
    } catch (error) {
      this.logger.warn({ err: error, concertId }, 'queue status refresh failed; the next tick retries');
    } finally {
      this.refreshing.delete(concertId);
    }
  }

  private fanChanged(concertId: number, userId: number): void {
    if (this.changedFans.size === 0) setImmediate(() => void this.refreshFans());
    const fans = this.changedFans.get(concertId) ?? new Set<number>();
    this.changedFans.set(concertId, fans.add(userId));
  }

  /** Pushes the fans who changed their own status, one status call per concert for all of them. */
  private async refreshFans(): Promise<void> {
    const changed = [...this.changedFans];
    this.changedFans.clear();
    await Promise.all(
      changed.map(([concertId, fans]) =>
        this.pushChanges(concertId, [...fans]).catch((error: unknown) => this.logger.warn({ err: error, concertId }, 'pushing a fan their own change failed; the next tick does')),
      ),
    );
  }

  private async pushChanges(concertId: number, only?: number[]): Promise<void> {
    const users = this.listeners.get(concertId);
    if (!users) return;
    const userIds = only ?? [...users.keys()];
    const statuses = await this.queue.statuses(concertId, userIds);
    let pushed = 0;
    for (const [index, status] of statuses.entries()) {
      const listeners = users.get(userIds[index] as number);
      if (!listeners) continue;
      const print = fingerprint(status);
      // A gate that closes leaves the array: walk a copy when there is more than one.
      for (const listener of listeners.length === 1 ? listeners : [...listeners]) {
        // Let each slice be executed and written before pushing more: otherwise all N executions are
        // alive at once, survive into the old heap, and the first fan hears only when the last does.
        if (listener.update(status, print) && ++pushed % PUSH_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    this.metrics.statusPushes.inc(pushed);
  }
}

import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import type { QueueStatusNode } from '../schema/types';
import { LatestValueStream } from './latest-value-stream';
import type { QueueService, TickMessage } from './queue-service';

/** One open queueStatus subscription on this process. */
class Watcher extends LatestValueStream<QueueStatusNode> {
  constructor(
    private readonly live: LiveQueueStatus,
    readonly userId: number,
    readonly concertId: number,
    /** What was last sent: a status is pushed only when state, position or activeUntil changes. */
    public sent: string,
  ) {
    super();
  }

  protected override onClose(): void {
    this.live.unwatch(this);
  }
}

/** Pushes between yields to the event loop (see pushChanges). */
const PUSH_SLICE = 256;

const fingerprint = (s: QueueStatusNode) => `${s.state}|${s.position ?? ''}|${s.activeUntil?.getTime() ?? ''}`;

/**
 * Pushes each local queueStatus subscriber its own status after every admission tick.
 *
 * Ticks arrive from whichever replica ran them, over one Redis pub/sub channel. For each concert
 * in the tick that has subscribers here, this process asks Redis for all their statuses in one
 * script call per 5,000 users, then pushes only the ones that changed. So a tick costs each
 * replica one round trip per concert, not one per subscriber. Each subscription keeps only its
 * latest unsent status (LatestValueStream), which coalesces bursts for slow clients.
 */
export class LiveQueueStatus {
  /** concert → user → that user's open subscriptions on this process. */
  private readonly watchers = new Map<number, Map<number, Watcher[]>>();
  /** Concerts whose refresh is running, and whether another tick came in meanwhile. */
  private readonly refreshing = new Map<number, boolean>();

  constructor(
    private readonly queue: QueueService,
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const tick = JSON.parse(message) as TickMessage;
      for (const concertId of tick.concerts) if (this.watchers.has(concertId)) void this.refresh(concertId);
    });
    await this.subscriber.subscribe(this.channel);
  }

  /** The caller's status stream: `initial` at once, then every change. */
  watch(userId: number, concertId: number, initial: QueueStatusNode): AsyncIterable<QueueStatusNode> {
    const users = this.watchers.get(concertId) ?? new Map<number, Watcher[]>();
    this.watchers.set(concertId, users);
    // An array, not a Set: nearly always one subscription per fan, and a Set costs far more memory.
    const mine = users.get(userId) ?? [];
    users.set(userId, mine);
    const watcher = new Watcher(this, userId, concertId, fingerprint(initial));
    mine.push(watcher);
    this.metrics.liveSubscribers.inc();
    watcher.push(initial);
    return watcher;
  }

  unwatch(watcher: Watcher): void {
    this.metrics.liveSubscribers.dec();
    const users = this.watchers.get(watcher.concertId);
    const mine = users?.get(watcher.userId);
    const index = mine?.indexOf(watcher) ?? -1;
    if (!users || !mine || index < 0) return;
    mine.splice(index, 1);
    if (mine.length === 0) users.delete(watcher.userId);
    if (users.size === 0) this.watchers.delete(watcher.concertId);
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

  private async pushChanges(concertId: number): Promise<void> {
    const users = this.watchers.get(concertId);
    if (!users) return;
    const userIds = [...users.keys()];
    const statuses = await this.queue.statuses(concertId, userIds);
    let pushed = 0;
    for (const [index, status] of statuses.entries()) {
      const print = fingerprint(status);
      for (const watcher of users.get(userIds[index] as number) ?? []) {
        if (watcher.sent === print) continue;
        watcher.sent = print;
        watcher.push(status);
        // Let each slice be executed and written before pushing more: otherwise all N executions are
        // alive at once, survive into the old heap, and the first fan hears only when the last does.
        if (++pushed % PUSH_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    this.metrics.statusPushes.inc(pushed);
  }
}

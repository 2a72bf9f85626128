import { randomUUID } from 'node:crypto';
import type { Counter } from 'prom-client';
import { runScript, SOCKET_OPEN, SOCKET_RENEW, type RedisClient, type RedisKeys } from '../redis';

/**
 * How long an open socket's count outlives a replica that died without closing it: half the presence
 * grace (at most a minute), so a fan whose sockets all died with it can reconnect elsewhere, within
 * the grace, and keep their place. Renewed three times per lease.
 */
export const socketLeaseMs = (presenceGraceSeconds: number) => Math.min(60_000, Math.max(1_000, presenceGraceSeconds * 500));

export interface SocketLease {
  userId: number;
  socketId: string;
}

/**
 * Open graphql-ws connections per account (MAX_SOCKETS_PER_USER), counted across replicas in Redis.
 * Not a rate but a count of what is open, so it is not a window counter: each socket holds a lease
 * that this replica renews while the socket is open and drops when it closes.
 */
export class SocketLeases {
  private readonly open = new Map<string, SocketLease>();
  private readonly replica = randomUUID();
  private sequence = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly max: number,
    private readonly leaseMs: number,
    private readonly refusals: Counter<'limit'>,
  ) {}

  /**
   * A lease for one more socket of the account, or 'refused' when it has `max` open already. With no
   * limit the socket is let in uncounted (undefined). When Redis does not answer, it is let in too,
   * with its lease kept, renewed and released like any: a command that timed out here may still run
   * once a frozen Redis wakes, and its count must not outlive the socket (left behind, such counts
   * refused the account's next sockets for up to a lease's length).
   */
  async acquire(userId: number): Promise<SocketLease | 'refused' | undefined> {
    if (this.max === 0) return undefined;
    const lease = { userId, socketId: `${this.replica}:${++this.sequence}` };
    const opened = await runScript(this.redis, SOCKET_OPEN, { sockets: this.keys.sockets(userId) }, lease.socketId, this.leaseMs, this.max).catch(() => undefined);
    if (opened === 0) {
      this.refusals.inc({ limit: 'sockets' });
      return 'refused';
    }
    this.open.set(lease.socketId, lease);
    this.timer ??= setInterval(() => this.renew(), this.leaseMs / 3).unref();
    return lease;
  }

  async release(lease: SocketLease): Promise<void> {
    this.open.delete(lease.socketId);
    await this.redis.zrem(this.keys.sockets(lease.userId), lease.socketId).catch(() => undefined);
  }

  /** Renews every open lease (one auto-pipelined write); one Redis lost is counted again (SOCKET_RENEW). */
  private renew(): void {
    for (const lease of this.open.values()) {
      runScript(this.redis, SOCKET_RENEW, { sockets: this.keys.sockets(lease.userId) }, lease.socketId, this.leaseMs).catch(() => undefined);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

import type { Counter } from 'prom-client';
import type { RateLimited } from '../errors';
import { refusal } from './operation-limits';

/** Operations one WebSocket may have running at once (subscriptions, mostly): each holds server memory. */
export const MAX_OPERATIONS_PER_SOCKET = 20;

/** The per-socket cap: a slot frees when an operation completes, so the client may retry soon. */
export class SocketOperationCap {
  constructor(private readonly refusals: Counter<'limit'>) {}

  /** RATE_LIMITED if `running` (the new one included) exceeds the cap. */
  check(running: number): RateLimited | undefined {
    if (running <= MAX_OPERATIONS_PER_SOCKET) return undefined;
    this.refusals.inc({ limit: 'socket_operations' });
    return refusal({ allowed: false, limit: 'socket_operations', retryAfterSeconds: 1 });
  }
}

import type { Counter } from 'prom-client';

/**
 * Messages one WebSocket may send: a burst of MESSAGE_BURST, then MESSAGES_PER_SECOND, each
 * BYTES_PER_MESSAGE of a frame counting as one more. Nothing else bounded them: one socket without a
 * token, sending graphql-ws pings as fast as it could (70,000 a second), kept the server's one thread
 * busy answering them, and every other request waited 24 s. A fan's page sends a few a minute.
 * Checked for every frame, synchronously, on a socket's own counter: no key, no promise, no Redis.
 */
const MESSAGE_BURST = 200;
const MESSAGES_PER_SECOND = 50;
const BYTES_PER_MESSAGE = 10 * 1024;

/** A socket's budget: a plain object, read by the one listener every socket shares (see server.ts). */
export interface MessageBudget {
  left: number;
  at: number;
  refused: boolean;
}

export class SocketMessageLimit {
  constructor(private readonly refusals: Counter<'limit'>) {}

  /** A new socket's budget. */
  budget(): MessageBudget {
    return { left: MESSAGE_BURST, at: performance.now(), refused: false };
  }

  /** Spends a frame of `bytes` from `budget`: false (counted as a refusal once) when it is spent. */
  spend(budget: MessageBudget, bytes: number): boolean {
    const now = performance.now();
    budget.left = Math.min(MESSAGE_BURST, budget.left + ((now - budget.at) * MESSAGES_PER_SECOND) / 1000) - 1 - Math.floor(bytes / BYTES_PER_MESSAGE);
    budget.at = now;
    if (budget.left >= 0) return true;
    if (!budget.refused) this.refusals.inc({ limit: 'socket_messages' });
    budget.refused = true;
    return false;
  }
}

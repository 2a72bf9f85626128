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

export class SocketMessageLimit {
  constructor(private readonly refusals: Counter<'limit'>) {}

  /** A new socket's budget: give it each frame's size; false (counted as a refusal once) when spent. */
  budget(): (bytes: number) => boolean {
    let left = MESSAGE_BURST;
    let at = performance.now();
    let refused = false;
    return (bytes) => {
      const now = performance.now();
      left = Math.min(MESSAGE_BURST, left + ((now - at) * MESSAGES_PER_SECOND) / 1000);
      at = now;
      left -= 1 + Math.floor(bytes / BYTES_PER_MESSAGE);
      if (left >= 0) return true;
      if (!refused) this.refusals.inc({ limit: 'socket_messages' });
      refused = true;
      return false;
    };
  }
}

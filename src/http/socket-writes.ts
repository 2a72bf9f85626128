import { WebSocket } from 'ws';
import type { Logger } from '../logger';

type SendCallback = (error?: Error) => void;

/**
 * Answers one socket may have waiting unsent: a stadium's full map (`seats`, every field) is about
 * 8 MB of JSON. Each waiting answer also keeps its result alive until it is written (graphql-ws
 * waits for the write), tens of MB for such a map: twenty of them on a socket whose client had
 * stopped reading held most of a GB, for as long as it stayed open.
 */
export const MAX_UNSENT_BYTES = 32 * 1024 * 1024;

/**
 * Every write to a socket goes through here:
 * - a push written to a socket whose client has just gone (EPIPE, ECONNRESET, or the socket already
 *   closing) fails; ws then closes the socket, and graphql-ws ends its subscriptions. graphql-ws would
 *   also take the failed write for a fault of ours: a multi-line "Internal error" on stderr and,
 *   through the error formatter, a "dependency unavailable" warning, for what is only a fan closing a
 *   tab. Such a write is said at debug level, and the send counts as done;
 * - a socket with more than MAX_UNSENT_BYTES waiting for its client is cut off (a client that reads
 *   nothing would not read a close frame either), which ends its operations and frees what they hold.
 */
export function guardSends(socket: WebSocket, logger: Logger): void {
  const send = socket.send.bind(socket) as (data: unknown, options: object, callback: SendCallback) => void;
  socket.send = ((data: unknown, optionsOrCallback?: object | SendCallback, maybeCallback?: SendCallback) => {
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback;
    const options = typeof optionsOrCallback === 'object' && optionsOrCallback !== null ? optionsOrCallback : {};
    send(data, options, (error) => {
      if (error) logger.debug({ err: error }, 'a push could not be written: its client has gone');
      callback?.();
    });
    if (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > MAX_UNSENT_BYTES) {
      logger.info({ unsentBytes: socket.bufferedAmount }, 'cut off a WebSocket whose client stopped reading its answers');
      socket.terminate();
    }
  }) as WebSocket['send'];
}

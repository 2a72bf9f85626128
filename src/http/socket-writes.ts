import type { WebSocket } from 'ws';
import type { Logger } from '../logger';

type SendCallback = (error?: Error) => void;

/**
 * A push written to a socket whose client has just gone (EPIPE, ECONNRESET, or the socket already
 * closing) fails; ws then closes the socket, and graphql-ws ends its subscriptions. graphql-ws would
 * also take the failed write for a fault of ours: a multi-line "Internal error" on stderr and, through
 * the error formatter, a "dependency unavailable" warning, for what is only a fan closing a tab. Such
 * a write is said at debug level, and the send counts as done.
 */
export function quietFailedSends(socket: WebSocket, logger: Logger): void {
  const send = socket.send.bind(socket) as (data: unknown, options: object, callback: SendCallback) => void;
  socket.send = ((data: unknown, optionsOrCallback?: object | SendCallback, maybeCallback?: SendCallback) => {
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback;
    const options = typeof optionsOrCallback === 'object' && optionsOrCallback !== null ? optionsOrCallback : {};
    send(data, options, (error) => {
      if (error) logger.debug({ err: error }, 'a push could not be written: its client has gone');
      callback?.();
    });
  }) as WebSocket['send'];
}

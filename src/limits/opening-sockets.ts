import type { WebSocket } from 'ws';
import type { AnonymousSockets } from './anonymous-sockets';

/** How often sockets that closed before their connection_init leave the count. */
const SWEEP_MS = 1000;

/**
 * Sockets still opening (upgraded, no connection_init yet), counted per client address on this
 * replica by `perAddress` from the upgrade until their connection_init. One that closes before it
 * leaves the count at the next sweep: no listener is added to the socket (one added and removed
 * again left each live fan's socket about 130 bytes larger).
 */
export class OpeningSockets {
  private readonly opening = new Map<WebSocket, string>();
  private sweep: NodeJS.Timeout | undefined;

  constructor(private readonly perAddress: AnonymousSockets) {}

  /** Counts a socket just upgraded from `address`; false, counting nothing, when that address has the most opening. */
  admit(socket: WebSocket, address: string): boolean {
    if (!this.perAddress.acquire(address)) return false;
    this.opening.set(socket, address);
    this.sweep ??= setInterval(() => this.forgetClosed(), SWEEP_MS).unref();
    return true;
  }

  /** The socket's connection_init has come: it no longer counts. */
  opened(socket: WebSocket): void {
    const address = this.opening.get(socket);
    if (address === undefined) return;
    this.opening.delete(socket);
    this.perAddress.release(address);
  }

  stop(): void {
    clearInterval(this.sweep);
    this.sweep = undefined;
  }

  private forgetClosed(): void {
    for (const socket of this.opening.keys()) if (socket.readyState === socket.CLOSING || socket.readyState === socket.CLOSED) this.opened(socket);
  }
}

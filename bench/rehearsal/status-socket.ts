/**
 * One fan's queueStatus subscription: its own WebSocket speaking the graphql-transport-ws protocol
 * (connection_init → connection_ack → subscribe → next… → complete), as graphql-ws's client does on
 * the wire, without that client's per-instance machinery (lazy connect, retries, listeners, timers).
 * At 20,000 fans in a few processes the client's cost decides whether the rehearsal measures the
 * service or its own fans, so this keeps per fan one socket, one object and no timer.
 */
import { GRAPHQL_TRANSPORT_WS_PROTOCOL, MessageType } from 'graphql-ws';
import WebSocket from 'ws';
import { STATUS_SUBSCRIPTION, type QueueStatus } from '../../support/operations';

export interface StatusHandlers {
  /** Milestones of opening (ms wall clock): the socket is open, the server acknowledged the connection. */
  opened(at: number): void;
  acknowledged(at: number): void;
  status(status: QueueStatus, at: number): void;
  /** The subscription or socket ended: 'complete', an error code, or `closed CODE`. Called once. */
  ended(reason: string, at: number): void;
}

export class StatusSocket {
  private socket?: WebSocket;
  private done = false;

  constructor(
    private readonly wsUrl: string,
    private readonly token: string,
    private readonly ip: string,
    private readonly concertId: string,
    private readonly on: StatusHandlers,
  ) {}

  open(): void {
    const socket = new WebSocket(this.wsUrl, GRAPHQL_TRANSPORT_WS_PROTOCOL, { headers: { 'x-forwarded-for': this.ip }, perMessageDeflate: false });
    this.socket = socket;
    socket.on('open', () => {
      this.on.opened(Date.now());
      this.send({ type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${this.token}` } });
    });
    socket.on('message', (data: Buffer) => this.receive(data));
    socket.on('close', (code: number) => this.end(`closed ${code}`));
    // 'close' always follows an 'error'; the code says enough.
    socket.on('error', () => undefined);
  }

  /** Closes the socket as a browser tab closing does (a close frame); `abruptly` as a lost network does. */
  close(abruptly = false): void {
    const socket = this.socket;
    this.socket = undefined;
    this.done = true;
    if (!socket) return;
    if (abruptly) socket.terminate();
    else if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1000);
  }

  private send(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private receive(data: Buffer): void {
    const message = JSON.parse(data.toString()) as { type: string; payload?: unknown };
    const now = Date.now();
    switch (message.type) {
      case MessageType.ConnectionAck:
        this.on.acknowledged(now);
        this.send({ id: '1', type: MessageType.Subscribe, payload: { query: STATUS_SUBSCRIPTION, variables: { id: this.concertId } } });
        break;
      case MessageType.Next: {
        const status = (message.payload as { data?: { queueStatus?: QueueStatus } }).data?.queueStatus;
        if (status) this.on.status(status, now);
        break;
      }
      case MessageType.Error: {
        const code = (message.payload as { extensions?: { code?: string } }[])[0]?.extensions?.code ?? 'UNKNOWN';
        this.end(code);
        break;
      }
      case MessageType.Complete:
        this.end('complete');
        break;
      case MessageType.Ping:
        this.send({ type: MessageType.Pong });
        break;
    }
  }

  private end(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.on.ended(reason, Date.now());
  }
}

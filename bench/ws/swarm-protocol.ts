/** IPC between the bench and its subscriber processes (swarm.ts). */
export type SocketSet = 'gql' | 'raw';

export type SwarmCommand =
  | {
      type: 'connect';
      /** gql: graphql-transport-ws, one subscription per socket; raw: a plain WebSocket. */
      set: SocketSet;
      url: string;
      /** gql: one bearer token per socket. */
      tokens: string[];
      count: number;
      query: string;
      variables: Record<string, unknown>;
      /** Handshakes in flight at once (the server's accept backlog is finite). */
      concurrency: number;
    }
  | { type: 'arm'; set: SocketSet }
  | { type: 'collect'; timeoutMs: number }
  | { type: 'close' };

export type SwarmEvent =
  | { type: 'connected'; open: number; failed: number; firstError?: string; sample?: string; ms: number }
  | { type: 'armed' }
  /** Arrival wall-clock time per socket of the armed set's first message after arm; -1 if none arrived. */
  | { type: 'times'; times: number[]; received: number; unexpected: number; sample?: string }
  | { type: 'closed' };

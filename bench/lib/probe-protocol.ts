/** Messages between the bench and a process it started (see probe.ts, ws/raw-server.ts). */
export type ProbeCommand =
  | { type: 'heap' }
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file: string }
  | { type: 'heap-snapshot'; file: string }
  /** raw-server only: its port, and a broadcast of one message of about `size` bytes to every socket. */
  | { type: 'port' }
  | { type: 'broadcast'; size: number };

export type ProbeRequest = { id: number } & ProbeCommand;

export interface ProbeReply {
  id: number;
  error?: string;
  heapUsed?: number;
  rss?: number;
  external?: number;
  port?: number;
  /** Wall-clock ms when the broadcast loop began and ended (raw-server). */
  startedAt?: number;
  finishedAt?: number;
}

export interface HeapReading {
  heapUsed: number;
  rss: number;
  external: number;
}

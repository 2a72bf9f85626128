import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HeapReading, ProbeCommand, ProbeReply } from './probe-protocol';
import { freePort, sleep, stopChild } from './util';

/** The repository root (this file runs as dist-bench/bench/lib/child.js). */
export const ROOT = path.resolve(__dirname, '../../..');

type Pending = Map<number, { resolve: (reply: ProbeReply) => void; reject: (error: Error) => void }>;

/** A process started by the bench with an IPC channel for probe requests (heap, CPU profile). */
export class ProbedChild {
  private nextId = 1;
  private readonly pending: Pending = new Map();
  readonly exited: Promise<number | null>;
  private readonly output: string[] = [];

  constructor(readonly child: ChildProcess, readonly name: string) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.on('message', (message: ProbeReply) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(`${name}: ${message.error}`));
      else waiter.resolve(message);
    });
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output.push(text);
      if (this.output.length > 200) this.output.shift();
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${text}`);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    void this.exited.then(() => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} exited: ${this.recentOutput()}`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  recentOutput(): string {
    return this.output.join('').slice(-4000);
  }

  request(request: ProbeCommand, timeoutMs = 60_000): Promise<ProbeReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${request.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ ...request, id });
    });
  }

  /** Heap after three full GCs (the process must run with --expose-gc). */
  async heap(): Promise<HeapReading> {
    const reply = await this.request({ type: 'heap' });
    return { heapUsed: reply.heapUsed ?? NaN, rss: reply.rss ?? NaN, external: reply.external ?? NaN };
  }

  async profileStart(): Promise<void> {
    await this.request({ type: 'profile-start' });
  }

  async profileStop(file: string): Promise<void> {
    await this.request({ type: 'profile-stop', file });
  }

  /** Open file descriptors right now, and the soft limit (from /proc; Linux only). */
  fds(): { open: number; limit: number } {
    try {
      const open = readdirSync(`/proc/${this.pid}/fd`).length;
      const limits = readFileSync(`/proc/${this.pid}/limits`, 'utf8');
      const match = /Max open files\s+(\d+)/.exec(limits);
      return { open, limit: match ? Number(match[1]) : Infinity };
    } catch {
      return { open: 0, limit: Infinity };
    }
  }

  /** SIGTERM and wait (SIGKILL after 15 s). */
  stop(): Promise<void> {
    return stopChild(this.child, this.exited);
  }
}

export interface ServerChild extends ProbedChild {
  url: string;
  wsUrl: string;
}

/**
 * Starts the compiled server as `npm start` does (`node dist/src/main.js`), as a separate process so
 * the load generator never shares its event loop, with the probe preloaded and --expose-gc.
 * Extra node flags for the server can be given in BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof").
 */
export async function startServer(env: Record<string, string>, name = 'server'): Promise<ServerChild> {
  const port = await freePort();
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = fork(path.join(ROOT, 'dist/src/main.js'), [], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    execArgv: ['--expose-gc', '--require', path.join(__dirname, 'probe.js'), ...extra],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const probed = new ProbedChild(child, name);
  const url = `http://127.0.0.1:${port}/graphql`;
  const deadline = Date.now() + 60_000;
  let exitCode: number | null | undefined;
  void probed.exited.then((code) => (exitCode = code));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`server exited with ${exitCode}: ${probed.recentOutput()}`);
    if (Date.now() > deadline) {
      await probed.stop();
      throw new Error(`server not ready within 60 s: ${probed.recentOutput()}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return Object.assign(probed, { url, wsUrl: `ws://127.0.0.1:${port}/graphql` });
}

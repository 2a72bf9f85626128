import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stopProcess } from './process';

/** A throwaway redis-server on a random port, for tests that take Redis away and bring it back. */
export class RedisServer {
  readonly port = 16_000 + Math.floor(Math.random() * 4000);
  /** Where SAVE writes its data, which a restart reads back (nothing is saved unless asked). */
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'redis-'));
  private child?: ChildProcess;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--dir', this.dir], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 300));
  }

  /** Freezes the server (SIGSTOP): its connections stay open, and nothing it is sent is answered. */
  pause(): Promise<void> {
    return stopProcess(this.child);
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Writes its data to disk now: the next start reads it back (as a restart of a Redis that persists). */
  save(): void {
    execFileSync('redis-cli', ['-p', String(this.port), 'save']);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { stopProcess } from './process';
import { createConnection } from 'mysql2/promise';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The private server's clock, not UTC (as many servers' is not): times the service writes must not depend on it. */
const TIME_ZONE = '+09:00';

/**
 * A private MariaDB on its own port and data directory, for tests that stop MySQL and start it again.
 * Root has an empty password over TCP, like the machine's own server.
 */
export class MariaDbServer {
  readonly port = 23_000 + Math.floor(Math.random() * 4000);
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'ct-mariadb-'));
  private child?: ChildProcess;

  get rootUrl(): string {
    return `mysql://root@127.0.0.1:${this.port}`;
  }

  /** Creates the data directory (once) and starts the server; resolves when it answers. */
  async start(): Promise<void> {
    const data = path.join(this.dir, 'data');
    if (!this.child) {
      chownSync(this.dir, uid('mysql'), gid('mysql'));
      execFileSync('mariadb-install-db', ['--no-defaults', '--user=mysql', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'], { stdio: 'ignore' });
    }
    this.child = spawn(
      'mariadbd',
      ['--no-defaults', '--user=mysql', `--datadir=${data}`, `--port=${this.port}`, `--socket=${path.join(this.dir, 'sock')}`, '--bind-address=127.0.0.1', '--skip-log-bin', `--default-time-zone=${TIME_ZONE}`],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const probe = await createConnection({ host: '127.0.0.1', port: this.port, user: 'root' });
        await probe.end();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** SIGTERM, as a service manager stops it; resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  /** SIGSTOP: the server keeps its connections open (the kernel still accepts and acknowledges) but answers nothing. */
  freeze(): Promise<void> {
    return stopProcess(this.child);
  }

  /** SIGCONT: it answers again, where it stopped. */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async remove(): Promise<void> {
    this.thaw();
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const uid = (user: string) => Number(execFileSync('id', ['-u', user]).toString().trim());
const gid = (user: string) => Number(execFileSync('id', ['-g', user]).toString().trim());


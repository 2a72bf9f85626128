/** The service under rehearsal: compiled replicas (`node dist/src/main.js`) as separate processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, stopChild } from '../lib/util';

/** The repository root, from the source (bench/rehearsal) or the build (dist-bench/bench/rehearsal). */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist-bench') dir = path.dirname(dir);
  return dir;
}

export interface Usage {
  /** CPU seconds (user + system) so far. */
  cpuSeconds: number;
  /** Peak resident memory so far (MiB). */
  peakRssMiB: number;
}

export class Replica {
  private readonly output: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly url: string,
    readonly wsUrl: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 100) this.output.shift();
      if (process.env.REHEARSAL_VERBOSE) process.stderr.write(`[${name}] ${chunk.toString()}`);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  recentOutput(): string {
    return this.output.join('').slice(-3000);
  }

  /** From /proc (Linux); zeros elsewhere. */
  usage(): Usage {
    try {
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return { cpuSeconds: ticks / 100, peakRssMiB: hwm / 1024 };
    } catch {
      return { cpuSeconds: 0, peakRssMiB: 0 };
    }
  }

  /** SIGTERM and wait (SIGKILL after 15 s). */
  stop(): Promise<void> {
    return stopChild(this.child, this.exited);
  }
}

/** `nodeArgs`: extra flags for node (the rehearsal's --cpu-prof). */
export async function startReplica(env: Record<string, string>, name: string, nodeArgs: string[] = []): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, path.join(repoRoot(), 'dist/src/main.js')], { cwd: repoRoot(), env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const replica = new Replica(name, child, `http://127.0.0.1:${port}/graphql`, `ws://127.0.0.1:${port}/graphql`);
  let exitCode: number | null | undefined;
  void replica.exited.then((code) => (exitCode = code));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${name} exited with ${exitCode}: ${replica.recentOutput()}`);
    if (Date.now() > deadline) {
      await replica.stop();
      throw new Error(`${name} not ready within 60 s: ${replica.recentOutput()}`);
    }
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return replica;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

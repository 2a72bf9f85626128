import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  /** SIGTERM, then wait for exit; resolves to the exit code (null when a signal killed it). */
  stop(): Promise<number | null>;
}

interface LogLine {
  msg?: string;
  port?: number;
}

/**
 * Runs the compiled server (`node dist/src/main.js`, as `npm start` does, from `cwd`) as a separate
 * process and resolves once a JSON log line matches `ready`.
 */
export async function spawnProcess(
  env: Record<string, string>,
  ready: (line: LogLine) => boolean,
  cwd = process.cwd(),
): Promise<{ child: ChildProcess; line: LogLine; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['dist/src/main.js'], { cwd, env: { ...process.env, ...env, LOG_LEVEL: 'info', PORT: env.PORT ?? '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const line = await new Promise<LogLine>((resolve, reject) => {
    // Only a guard against waiting for ever: under load a start-up took over 30 s.
    const timer = setTimeout(() => reject(new Error(`server process did not start: ${stderr.join('')}`)), 90_000);
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let entry: LogLine;
      try {
        entry = JSON.parse(text) as LogLine;
      } catch {
        return; // not a log line
      }
      if (ready(entry)) {
        clearTimeout(timer);
        resolve(entry);
      }
    });
    void exited.then((code) => reject(new Error(`server process exited with ${code}: ${stderr.join('')}`)));
  });
  return { child, line, exited };
}

/** A server process that is listening, with workers (if any) running. */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const { child, line, exited } = await spawnProcess(env, (entry) => entry.msg === 'listening' && entry.port !== undefined);
  return {
    child,
    url: `http://127.0.0.1:${line.port}/graphql`,
    wsUrl: `ws://127.0.0.1:${line.port}/graphql`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * SIGSTOP, resolved once every thread of the process has stopped: a signal reaches a thread busy on
 * another core a moment later, and on a loaded machine a command sent right after kill() was still
 * answered.
 */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  const pid = child?.pid;
  if (pid === undefined) return;
  child?.kill('SIGSTOP');
  const deadline = Date.now() + 5000;
  while (!allStopped(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Whether every thread of the process is stopped (state T in /proc/<pid>/task/<tid>/stat). */
function allStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((tid) => /^\d+ \(.*\) [Tt] /.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
  } catch {
    return true; // gone: nothing answers either
  }
}

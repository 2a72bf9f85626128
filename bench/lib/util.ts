/** Small helpers shared by the bench: clocks, statistics, formatting, bounded concurrency. */

import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { Pool, PoolConnection } from 'mysql2/promise';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Wall-clock milliseconds with sub-millisecond resolution. Comparable across processes on the same
 * machine (every process derives it from the same system clock), which the position-push scenario
 * needs: the bench stamps the tick, the client processes stamp each arrival.
 */
export const wallMs = () => performance.timeOrigin + performance.now();

/** Nearest-rank percentile of an unsorted sample (p in 0..100). NaN for an empty sample. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Array.from(values).filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export const median = (values: number[]) => percentile(values, 50);

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/**
 * Runs `fn` once per item from `connections` concurrent callers: the transactions per second, p99
 * latency (ms), and this process's CPU per item (ms), to set beside the server's (see server-cost.ts).
 */
export async function timedRuns<T>(items: readonly T[], connections: number, fn: (item: T, index: number) => Promise<unknown>): Promise<{ tps: number; p99: number; cpuMs: number }> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const started = wallMs();
  await mapPool(items, connections, async (item, i) => {
    const t = wallMs();
    await fn(item, i);
    latencies.push(wallMs() - t);
  });
  const { user, system } = process.cpuUsage(cpu);
  return { tps: items.length / ((wallMs() - started) / 1000), p99: percentile(latencies, 99), cpuMs: (user + system) / 1000 / items.length };
}

/** SIGTERM a child process and wait for its exit, SIGKILLing it if it takes over 15 s. */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** A free TCP port on loopback, for a server process given PORT=<it>. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** One transaction by hand on a pooled mysql2 connection: the raw-SQL baselines. */
export async function rawTransaction(pool: Pool, work: (conn: PoolConnection) => Promise<void>): Promise<void> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    await work(conn);
    await conn.commit();
  } catch (error) {
    await conn.rollback();
    throw error;
  } finally {
    conn.release();
  }
}

export function fmtNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtMs(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value < 10 ? `${value.toFixed(2)} ms` : value < 100 ? `${value.toFixed(1)} ms` : `${Math.round(value).toLocaleString('en-US')} ms`;
}

export const fmtRatio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');

export function fmtBytes(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 1024 * 1024 ? `${(value / 1024 / 1024).toFixed(1)} MB` : `${(value / 1024).toFixed(2)} KB`;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

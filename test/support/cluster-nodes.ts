import { execFileSync } from 'node:child_process';
import path from 'node:path';

const CLUSTER = path.join(__dirname, 'redis-cluster.sh');

/** Starts a Redis Cluster of a test file's own on `basePort` to `basePort` + 5 (see redis-cluster.sh): its seed nodes. */
export function startCluster(basePort: number): { host: string; port: number }[] {
  const seeds = execFileSync(CLUSTER, ['start', String(basePort)]).toString().trim().split(',');
  return seeds.map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) }));
}

export function stopCluster(basePort: number): void {
  execFileSync(CLUSTER, ['stop', String(basePort)]);
}

/** One redis-cli command to the node on `port`, its output as text. */
export const redisCli = (port: number, ...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args]).toString();

/** The port of the master serving `key`'s slot, as the node on `askPort` sees the cluster (undefined: none it knows alive). */
export function masterOf(key: string, askPort: number): number | undefined {
  const slot = Number(redisCli(askPort, 'cluster', 'keyslot', key).trim());
  for (const line of redisCli(askPort, 'cluster', 'nodes').split('\n')) {
    const [, address, flags, , , , , , ...ranges] = line.split(' ');
    if (!flags?.includes('master') || flags.includes('fail')) continue;
    for (const range of ranges) {
      const [from, to = from] = range.split('-').map(Number);
      if (from !== undefined && to !== undefined && slot >= from && slot <= to) return Number(address!.split(':')[1]!.split('@')[0]);
    }
  }
  return undefined;
}

/** The process ID of the node on `port` (to freeze or kill it). */
export const pidOf = (port: number) => Number(/process_id:(\d+)/.exec(redisCli(port, 'info', 'server'))?.[1]);

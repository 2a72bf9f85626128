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

/** A node of the cluster as CLUSTER NODES lists it. */
interface ClusterNode {
  id: string;
  port: number;
  flags: string[];
  /** The master's ID, for a replica. */
  masterId: string;
  /** Slot ranges ("0-5460"), for a master. */
  slots: string[];
}

/** The cluster's nodes as the node on `askPort` sees them. */
export function clusterNodes(askPort: number): ClusterNode[] {
  return redisCli(askPort, 'cluster', 'nodes')
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', masterId = '', , , , , ...slots] = line.split(' ');
      return { id, port: Number(address.split(':')[1]!.split('@')[0]), flags: flags.split(','), masterId, slots };
    });
}

/** The port of the master serving `key`'s slot, as the node on `askPort` sees the cluster (undefined: none it knows alive). */
export function masterOf(key: string, askPort: number): number | undefined {
  const slot = Number(redisCli(askPort, 'cluster', 'keyslot', key).trim());
  for (const node of clusterNodes(askPort)) {
    if (!node.flags.includes('master') || node.flags.includes('fail')) continue;
    for (const range of node.slots) {
      const [from, to = from] = range.split('-').map(Number);
      if (from !== undefined && to !== undefined && slot >= from && slot <= to) return node.port;
    }
  }
  return undefined;
}

/** The port of the replica of the master on `port`. */
export function replicaOf(port: number): number {
  const nodes = clusterNodes(port);
  const master = nodes.find((node) => node.port === port)!;
  return nodes.find((node) => node.flags.includes('slave') && node.masterId === master.id)!.port;
}

/** The process ID of the node on `port` (to freeze or kill it). */
export const pidOf = (port: number) => Number(/process_id:(\d+)/.exec(redisCli(port, 'info', 'server'))?.[1]);

/** What the kernel saw of the run's connections (Linux only; undefined elsewhere). */
import { readFileSync } from 'node:fs';

/**
 * TcpExt ListenOverflows: connections the kernel turned away because a listening socket's accept
 * queue was full. The client's SYN is then retransmitted after 1, 3, 7, 15 s, which is how a
 * WebSocket connect comes to take seconds. Machine-wide: other processes' listeners count too.
 */
export function listenOverflows(): number | undefined {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((line) => line.startsWith('TcpExt:'));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    const at = names.indexOf('ListenOverflows');
    return at < 0 ? undefined : Number(values[at]);
  } catch {
    return undefined;
  }
}

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Where Linux's ephemeral ports begin (net.ipv4.ip_local_port_range; 32768 unless set otherwise): a
 * port the kernel handed out for listen(0) and got back goes on to serve as the local end of other
 * tests' outgoing connections, which then hold it.
 */
function ephemeralFrom(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

/** A port nothing listens on now, below the ephemeral range, for tests that need a refused connection and may listen there later. */
export async function closedPort(): Promise<number> {
  const below = Math.min(32_768, ephemeralFrom());
  // Above the throwaway Redis (16000-19999) and MariaDB (23000-26999) servers' ports.
  const from = Math.min(27_000, below - 1_000);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = from + Math.floor(Math.random() * (below - from));
    if (await isFree(port)) return port;
  }
  throw new Error(`no free port in ${from}-${below - 1}`);
}

function isFree(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

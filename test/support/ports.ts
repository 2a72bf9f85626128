import { createServer } from 'node:net';

/**
 * A port nothing listens on now, for tests that need a refused connection and may listen there later.
 * Taken below Linux's ephemeral range (32768 and up): a port the kernel handed out for listen(0) and
 * got back goes on to serve as the local end of other tests' outgoing connections, which then hold it.
 */
export async function closedPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 28_000 + Math.floor(Math.random() * 4_500);
    if (await isFree(port)) return port;
  }
  throw new Error('no free port in 28000-32499');
}

function isFree(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

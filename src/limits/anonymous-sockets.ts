import type { Counter } from 'prom-client';

/**
 * graphql-ws connections without a valid token open at once per client address, on this replica
 * (a second instance counts those still opening: see createLimits).
 * Everything a socket may subscribe to needs a token, so such a socket is of no use to a fan (the web
 * app only opens one with a token that has just expired), but it holds memory and a file descriptor
 * until it closes: without a cap, one script could exhaust the process's descriptors and lock every
 * fan out at an on-sale. Counted in process, not in Redis: no round trip per connection, and the cap
 * is per replica by design (a load balancer spreads a script's sockets, and each replica guards its own
 * descriptors). Sockets with a token are counted per account instead (SocketLeases).
 */
export class AnonymousSockets {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly maxPerAddress: number,
    private readonly refusals: Counter<'limit'>,
    /** The metric label of its refusals. */
    private readonly limit: 'anonymous_sockets' | 'opening_sockets' = 'anonymous_sockets',
  ) {}

  /** Counts one more socket of the address (true), or refuses it (false) when it has the maximum open. */
  acquire(address: string): boolean {
    const open = this.open.get(address) ?? 0;
    if (open >= this.maxPerAddress) {
      this.refusals.inc({ limit: this.limit });
      return false;
    }
    this.open.set(address, open + 1);
    return true;
  }

  release(address: string): void {
    const open = (this.open.get(address) ?? 0) - 1;
    if (open > 0) this.open.set(address, open);
    else this.open.delete(address);
  }
}

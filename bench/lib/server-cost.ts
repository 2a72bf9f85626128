import type { ServerChild } from './child';
import { median } from './util';

/** The server's own counters (its /metrics): CPU it used and SQL statements it sent, since it started. */
interface Usage {
  cpuMs: number;
  statements: number;
}

async function usage(server: ServerChild): Promise<Usage> {
  const text = await (await fetch(server.url.replace(/\/graphql$/, '/metrics'))).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  return { cpuMs: value('process_cpu_seconds_total') * 1000, statements: value('mysql_statements_total') };
}

/**
 * What one call costs the server process alone: CPU milliseconds and SQL statements. Unlike a
 * throughput ratio, CPU per call barely moves when other work shares the machine, so it is the
 * figure to compare one version of a hot path with another. Reading /metrics costs the server a
 * little CPU of its own (under 0.01 ms per call over a few hundred calls).
 */
export class ServerCost {
  private readonly perCall: Usage[] = [];

  async measure<T extends { responses: number }>(server: ServerChild, go: () => Promise<T>): Promise<T> {
    const before = await usage(server);
    const result = await go();
    const after = await usage(server);
    this.perCall.push({ cpuMs: (after.cpuMs - before.cpuMs) / result.responses, statements: (after.statements - before.statements) / result.responses });
    return result;
  }

  /** Median CPU milliseconds per call over the measured runs. */
  cpuMs(): number {
    return median(this.perCall.map((c) => c.cpuMs));
  }

  /** Medians over the measured runs, e.g. "1.23 ms CPU and 6.0 SQL statements". */
  summary(): string {
    const cpu = this.cpuMs();
    const statements = median(this.perCall.map((c) => c.statements));
    return `${cpu.toFixed(2)} ms of server CPU and ${statements.toFixed(1)} SQL statements (runs: ${this.perCall.map((c) => c.cpuMs.toFixed(2)).join(', ')} ms)`;
  }
}

import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { ROOT, startServer, type ServerChild } from './child';
import { serverEnv, type Control } from './control';
import type { BenchOptions } from './options';
import type { Row } from './report';
import { summarizeProfile } from './profile';

/** What a scenario gets from run.ts. */
export class BenchContext {
  /** Lines for the "details" section of the report (bench/last-run.md): per-run figures, sizes, caveats. */
  readonly details: string[] = [];
  /** Profile summaries (with --profile). */
  readonly profiles: string[] = [];
  private readonly servers = new Set<ServerChild>();

  constructor(
    readonly options: BenchOptions,
    readonly control: Control,
  ) {}

  private readonly t0 = Date.now();

  log(message: string): void {
    process.stderr.write(`  · [${((Date.now() - this.t0) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
  }

  detail(scenario: string, message: string): void {
    this.details.push(`- **${scenario}**: ${message}`);
    this.log(message);
  }

  /** A fresh server child on the bench database and prefix (stopped by run.ts if the scenario forgets). */
  async server(name: string, overrides: Record<string, string> = {}): Promise<ServerChild> {
    const server = await startServer(serverEnv(overrides), name);
    this.servers.add(server);
    return server;
  }

  async stopServer(server: ServerChild): Promise<void> {
    this.servers.delete(server);
    await server.stop();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.servers].map((s) => this.stopServer(s)));
  }

  /** Runs `fn` with the server's CPU profiled (only with --profile), then prints where the time went. */
  async profiled<T>(server: ServerChild, label: string, fn: () => Promise<T>): Promise<T> {
    if (!this.options.profile) return fn();
    const dir = path.join(ROOT, 'bench/profiles');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${label}.cpuprofile`);
    await server.profileStart();
    try {
      return await fn();
    } finally {
      await server.profileStop(file);
      const summary = summarizeProfile(file);
      this.profiles.push(`### ${label}\n\n\`bench/profiles/${label}.cpuprofile\`\n\n\`\`\`\n${summary}\n\`\`\``);
      process.stderr.write(`\n${label} profile:\n${summary}\n\n`);
    }
  }
}

export interface Scenario {
  name: string;
  /** One line: what is measured against what. */
  title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

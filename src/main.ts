import 'reflect-metadata';
import { startApp } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';

const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  // Handlers go in before start-up: a SIGTERM that arrives while workers are still starting must
  // still end in a graceful stop and exit 0, not the default kill.
  let stopping = false;
  // Ends a start-up still waiting for another replica's (up to 5 min) or for Redis (up to 20 s), which
  // would otherwise hold the exit past its deadline.
  const startup = new AbortController();
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    startup.abort();
    started
      .then(
        (app) => app.stop(),
        // Asked to stop before it had started: the failed start-up closed what it had opened.
        () => undefined,
      )
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  // A library's promise that rejects with nobody awaiting it (ioredis's ready check of a pub/sub
  // connection that reconnects, say) is logged: one connection's trouble must not end every socket
  // and request of the replica, which Node's default (exit) would.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'a promise rejected with nobody awaiting it; carrying on'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Signals arrive through the event loop, so every handler call runs after this line.
  const started = startApp(config, logger, startup.signal);
  let app;
  try {
    app = await started;
  } catch (error) {
    // Stopping: the shutdown above exits.
    if (stopping) return;
    throw error;
  }
  // Logged only once everything, workers included, runs: process supervisors and tests wait for it.
  if (!stopping) logger.info({ port: app.port }, 'listening');
}

main().catch((error: unknown) => {
  console.error('failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

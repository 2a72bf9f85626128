import pino from 'pino';
import pretty from 'pino-pretty';

/** How much of each argument of a failed Redis command a log line keeps. */
const COMMAND_ARG_CHARS = 200;

/**
 * An error as pino writes it, with the Redis command ioredis puts on its errors cut short: a script's
 * first run on a connection (after a failover, every connection's) sends its whole Lua source, kilobytes
 * that each failure would otherwise log again.
 */
export function serializeError(error: Error): pino.SerializedError {
  const out = pino.stdSerializers.err(error);
  const command: unknown = out.command;
  if (command && typeof command === 'object' && 'args' in command && Array.isArray(command.args)) {
    const args: unknown[] = command.args;
    out.command = { ...command, args: args.map((arg) => (typeof arg === 'string' && arg.length > COMMAND_ARG_CHARS ? `${arg.slice(0, COMMAND_ARG_CHARS)}… (${arg.length} characters)` : arg)) };
  }
  return out;
}

/** JSON lines for log collectors; readable, coloured lines when a person watches a terminal. */
export function createLogger(level: string, readable = process.stdout.isTTY === true) {
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, serializers: { err: serializeError } };
  return readable ? pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l' })) : pino(options);
}

export type Logger = ReturnType<typeof createLogger>;

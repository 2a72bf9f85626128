import pino from 'pino';
import pretty from 'pino-pretty';

/** JSON lines for log collectors; readable, coloured lines when a person watches a terminal. */
export function createLogger(level: string, readable = process.stdout.isTTY === true) {
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  return readable ? pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l' })) : pino(options);
}

export type Logger = ReturnType<typeof createLogger>;

import { DefaultLogger, type LogContext, type LoggerOptions } from '@mikro-orm/core';
import type { Counter } from 'prom-client';

/**
 * MikroORM's own logger, which also counts every statement it is told about (BEGIN, COMMIT and
 * ROLLBACK included, from the EntityManager and from sqlTransaction alike) into a metric. MikroORM
 * calls logQuery for each statement whether or not query logging is on, so this costs one
 * increment.
 */
class StatementCountingLogger extends DefaultLogger {
  constructor(
    options: LoggerOptions,
    private readonly statements: Counter,
  ) {
    super(options);
  }

  override logQuery(context: { query: string } & LogContext): void {
    this.statements.inc();
    super.logQuery(context);
  }
}

export const countStatements = (statements: Counter) => (options: LoggerOptions) => new StatementCountingLogger(options, statements);

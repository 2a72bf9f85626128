import type { MikroORM } from '@mikro-orm/mysql';
import { outcomeWithin } from '../time-limit';
import { knexClient, type MysqlConnection } from './knex-client';

/**
 * Whether MySQL answers, asked on a connection of its own, outside the ORM's pool: behind a pool
 * queued by a burst (a sale's payments waiting on rows), /readyz would wait its turn and a replica
 * busy serving would read as down to its load balancer. One connection, made when first needed and
 * again after any failure; one that does not answer in time is destroyed (a frozen MySQL would keep
 * it waiting for ever).
 */
export class MysqlProbe {
  private connection: Promise<MysqlConnection> | undefined;

  constructor(private readonly orm: MikroORM) {}

  /**
   * True when MySQL answered `select 1` within `timeoutMs`. A kept connection that fails is asked
   * again once on a new one, within the time left: MySQL, or a proxy before it, may have closed it
   * while it sat idle (wait_timeout, a KILL), and that says nothing of whether MySQL answers now.
   */
  async answers(timeoutMs: number): Promise<boolean> {
    const started = Date.now();
    const kept = this.connection !== undefined;
    if (await this.ask(timeoutMs)) return true;
    const left = timeoutMs - (Date.now() - started);
    return kept && left > 0 && (await this.ask(left));
  }

  private async ask(timeoutMs: number): Promise<boolean> {
    this.connection ??= knexClient(this.orm).acquireRawConnection();
    const connection = this.connection;
    const asked = connection.then((raw) => new Promise<void>((resolve, reject) => raw.query('select 1', [], (error) => (error ? reject(error) : resolve()))));
    const outcome = await outcomeWithin(asked, timeoutMs);
    if (outcome !== 'fulfilled') this.drop(connection);
    return outcome === 'fulfilled';
  }

  close(): void {
    if (this.connection) this.drop(this.connection);
  }

  private drop(connection: Promise<MysqlConnection>): void {
    if (this.connection === connection) this.connection = undefined;
    connection.then(
      (raw) => raw.destroy(),
      () => undefined,
    );
  }
}

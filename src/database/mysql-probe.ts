import type { MikroORM } from '@mikro-orm/mysql';
import { outcomeWithin } from '../time-limit';

/** What is used of a raw mysql2 connection, as knex makes them for its pool. */
interface RawConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
  destroy(): void;
}

/** The ORM's knex client: it makes connections with the pool's own settings (URL, timezone, timeouts). */
interface ConnectionMaker {
  acquireRawConnection(): Promise<RawConnection>;
}

/**
 * Whether MySQL answers, asked on a connection of its own, outside the ORM's pool: behind a pool
 * queued by a burst (a sale's payments waiting on rows), /readyz would wait its turn and a replica
 * busy serving would read as down to its load balancer. One connection, made when first needed and
 * again after any failure; one that does not answer in time is destroyed (a frozen MySQL would keep
 * it waiting for ever).
 */
export class MysqlProbe {
  private connection: Promise<RawConnection> | undefined;

  constructor(private readonly orm: MikroORM) {}

  /** True when MySQL answered `select 1` within `timeoutMs`. */
  async answers(timeoutMs: number): Promise<boolean> {
    this.connection ??= (this.orm.em.getDriver().getConnection().getKnex().client as ConnectionMaker).acquireRawConnection();
    const connection = this.connection;
    const asked = connection.then((raw) => new Promise<void>((resolve, reject) => raw.query('select 1', (error) => (error ? reject(error) : resolve()))));
    const outcome = await outcomeWithin(asked, timeoutMs);
    if (outcome !== 'fulfilled') this.drop(connection);
    return outcome === 'fulfilled';
  }

  close(): void {
    if (this.connection) this.drop(this.connection);
  }

  private drop(connection: Promise<RawConnection>): void {
    if (this.connection === connection) this.connection = undefined;
    connection.then(
      (raw) => raw.destroy(),
      () => undefined,
    );
  }
}

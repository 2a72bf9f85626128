import type { MikroORM } from '@mikro-orm/mysql';

/** A mysql2 connection's callback result. */
export type QueryCallback = (error: (Error & { code?: string }) | null, ...results: unknown[]) => void;

/** mysql2's callback connection, as knex makes them: what this project uses of it. */
export interface MysqlConnection {
  query(options: string | Record<string, unknown>, values?: unknown, callback?: QueryCallback): unknown;
  destroy(): void;
}

/** The ORM's knex client: its pool's connections, and connections made with the same settings outside it. */
export interface KnexClient {
  acquireConnection(): Promise<MysqlConnection>;
  releaseConnection(connection: MysqlConnection): Promise<unknown>;
  acquireRawConnection(): Promise<MysqlConnection>;
}

/** The knex client under MikroORM's MySQL driver (its pool, below the EntityManager). */
export function knexClient(orm: MikroORM): KnexClient {
  return orm.em.getDriver().getConnection().getKnex().client as KnexClient;
}

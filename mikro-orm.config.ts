import 'reflect-metadata';
import { defineConfig } from '@mikro-orm/mysql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './src/entities';
import { migrationsList } from './src/migrations';

/** The shortest wait for a pooled connection (the app waits as long as a statement may, if longer). */
export const MIN_ACQUIRE_TIMEOUT_MS = 3000;

/**
 * ORM options for one database URL; the CLI uses the default export (DATABASE_URL or the local default).
 * `acquireTimeoutMs`: the longest wait for a pooled connection (the app passes its statement bound).
 */
export function ormConfig(databaseUrl: string, acquireTimeoutMs = MIN_ACQUIRE_TIMEOUT_MS) {
  return defineConfig({
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    // Entities are listed explicitly and carry explicit column types, so no TS reflection or folder scan is needed.
    discovery: { warnWhenNoEntities: true },
    // MySQL commits DDL implicitly, so a transaction around a migration promises what it cannot keep.
    // The app logs what it applied (see openDatabase), so the migrator's own console output is off.
    migrations: { migrationsList, path: 'src/migrations', pathTs: 'src/migrations', transactional: false, allOrNothing: false, silent: true, snapshot: false, emit: 'ts' },
    pool: { min: 2, max: 20 },
    // A request waits at most this long for a connection, then fails with SERVICE_UNAVAILABLE instead
    // of hanging (knex's own default is 60 s); merged into knex's options. While MySQL refuses
    // connections the wait ends at once (knex propagates the failure to create one).
    driverOptions: { acquireConnectionTimeout: acquireTimeoutMs, connection: { connectTimeout: 2000 } },
    timezone: '+00:00',
    forceUtcTimezone: true,
    debug: false,
    allowGlobalContext: false,
  });
}

export default ormConfig(process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/concert');

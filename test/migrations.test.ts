import type { Migration } from '@mikro-orm/migrations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../support/graphql-client';
import { Migration20261201120000 } from '../src/migrations/Migration20261201120000';
import { Migration20261210100000 } from '../src/migrations/Migration20261210100000';
import { Migration20261210120000 } from '../src/migrations/Migration20261210120000';
import { Migration20261212100000 } from '../src/migrations/Migration20261212100000';
import { Migration20261214100000 } from '../src/migrations/Migration20261214100000';
import { Migration20261216100000 } from '../src/migrations/Migration20261216100000';
import { Migration20261217100000 } from '../src/migrations/Migration20261217100000';
import { Migration20261218100000 } from '../src/migrations/Migration20261218100000';
import { createConcert } from './support/fixtures';
import { logIn, signUp } from './support/client';
import { startTestServer, type TestServer } from './support/harness';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer('migrations', { RUN_WORKERS: 'false', SEED_DEMO: 'false' });
});
afterAll(() => server.stop());

type MigrationClass = new (...args: ConstructorParameters<typeof Migration20261210120000>) => Migration;

const sql = () => server.app.orm.em.getConnection();

/** The statements the migration would send now (up or down), as the migrator runs them. */
async function planned(migration: MigrationClass, direction: 'up' | 'down' = 'up'): Promise<string[]> {
  const { orm } = server.app;
  const instance = new migration(orm.em.getDriver(), orm.config);
  await instance[direction]();
  return instance.getQueries().map(String);
}

async function run(statements: string[]): Promise<void> {
  for (const statement of statements) await sql().execute(statement);
}

async function tableDefinition(table: string): Promise<string> {
  const [row] = await sql().execute<Record<string, string>[]>(`show create table \`${table}\``);
  return String(row?.['Create Table']);
}

describe('migrations killed before they were recorded', () => {
  it.each([
    ['Migration20261210100000', Migration20261210100000, 'concerts'],
    ['Migration20261210120000', Migration20261210120000, 'reservations'],
    ['Migration20261214100000', Migration20261214100000, 'users'],
    ['Migration20261217100000', Migration20261217100000, 'users'],
    ['Migration20261218100000', Migration20261218100000, 'schedules'],
  ])('%s runs again over its own finished work and changes nothing', async (_name, migration, table) => {
    const before = await tableDefinition(table);
    await run(await planned(migration));
    expect(await tableDefinition(table)).toBe(before);
  });

  it('Migration20261210120000 killed after any of its statements finishes on the next start, to the same table', async () => {
    const complete = await tableDefinition('reservations');
    const undo = await planned(Migration20261210120000, 'down');
    await run(undo);
    const all = await planned(Migration20261210120000);
    expect(all.length).toBeGreaterThanOrEqual(7);
    for (let done = 1; done < all.length; done++) {
      // A start killed after `done` statements: the next start runs the migration from the top.
      await run(all.slice(0, done));
      await run(await planned(Migration20261210120000));
      expect(await tableDefinition('reservations'), `killed after statement ${done}`).toBe(complete);
      await run(undo);
    }
    await run(all);
    expect(await tableDefinition('reservations')).toBe(complete);
  });
});

describe('upgrading schedules to a price of their own', () => {
  it('gives each existing schedule its seats’ price', async () => {
    const { scheduleIds } = await createConcert(server, { price: 150, schedules: 2 });
    const complete = await tableDefinition('schedules');
    await run(await planned(Migration20261218100000, 'down'));
    await run(await planned(Migration20261218100000));
    expect(await tableDefinition('schedules')).toBe(complete);
    const rows = await sql().execute<{ price: number }[]>('select price from schedules where id in (?, ?)', scheduleIds);
    expect(rows.map((row) => Number(row.price))).toEqual([150, 150]);
  });

  it('shows a schedule with no price of its own (made by a replica of the earlier version during the upgrade) as unknown, not free', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { price: 150 });
    await sql().execute('update schedules set price = null where id = ?', [scheduleIds[0]]);
    const { concert } = await new Api(server.url).data<{ concert: { schedules: { price: number | null }[] } }>('query($id: ID!) { concert(id: $id) { schedules { price } } }', { id: concertId });
    expect(concert.schedules).toEqual([{ price: null }]);
  });
});

describe('upgrading a database whose emails were apart under the server’s default collation', () => {
  it('migrates ß beside ss, and an accent typed two ways, without failing: the first account keeps the canonical spelling', async () => {
    const api = new Api(server.url);
    const strasse = await signUp(api, 'strasse@example.de', 'password-ss');
    const strasze = await signUp(api, 'straße@example.de', 'password-sz');
    const jose = await signUp(api, 'josé@example.es', 'password-jose');
    const twin = await signUp(api, 'twin@example.es', 'password-twin');
    // As the first release stored them, under MariaDB's default collation (which kept them all apart).
    await sql().execute('alter table users modify email varchar(254) character set utf8mb4 collate utf8mb4_general_ci not null');
    await sql().execute('update users set email = ? where id = ?', ['jose\u0301@example.es', twin.id]);

    await run(await planned(Migration20261201120000));
    await run(await planned(Migration20261212100000));

    expect((await logIn(api, 'STRASSE@example.de', 'password-ss')).id).toBe(strasse.id);
    expect((await logIn(api, 'STRAßE@example.de', 'password-sz')).id).toBe(strasze.id);
    expect((await logIn(api, 'JOSE\u0301@example.es', 'password-jose')).id).toBe(jose.id);
    const [kept] = await sql().execute<{ email: string }[]>('select email from users where id = ?', [twin.id]);
    expect(kept?.email).toBe('jose\u0301@example.es');
    expect(await tableDefinition('users')).toMatch(/`email` varchar\(254\) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL/);
  });
});

describe('upgrading emails stored lower-cased to their case-folded spelling', () => {
  it('rewrites ς to σ and ſ to s, so their owners log in under any case; of two accounts now one address, the one already spelled so keeps it', async () => {
    const api = new Api(server.url);
    const nikos = await signUp(api, 'nikos-first@example.gr', 'password-nikos');
    const sam = await signUp(api, 'sam-first@example.test', 'password-sam');
    const other = await signUp(api, 'other@example.test', 'password-other');
    // As lower-casing stored them: ΝΙΚΟΣ@ with a final ς; ſam@ as typed, and sam@ beside it, another account then.
    await sql().execute('update users set email = ? where id = ?', ['νικος@example.gr', nikos.id]);
    await sql().execute('update users set email = ? where id = ?', ['ſam@example.test', sam.id]);
    await sql().execute('update users set email = ? where id = ?', ['sam@example.test', other.id]);

    await run(await planned(Migration20261216100000));

    expect((await logIn(api, 'νικοσ@example.gr', 'password-nikos')).id).toBe(nikos.id);
    expect((await logIn(api, 'ΝΙΚΟΣ@example.gr', 'password-nikos')).id).toBe(nikos.id);
    expect((await logIn(api, 'SAM@example.test', 'password-other')).id).toBe(other.id);
    const [kept] = await sql().execute<{ email: string }[]>('select email from users where id = ?', [sam.id]);
    expect(kept?.email).toBe('ſam@example.test');
  });
});

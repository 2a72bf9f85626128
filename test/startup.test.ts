import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { CREATE_CONCERT, ENTER, LOG_IN } from '../support/operations';
import { resetSandbox } from '../support/sandbox';
import { ADMIN, databaseOf, startTestServer, TEST_MYSQL_ROOT, TEST_REDIS_URL, testEnv, type TestServer } from './support/harness';
import { closedPort } from './support/ports';
import { spawnProcess, spawnServer } from './support/process';
import { logIn, signUp, signUpMany, type Account } from './support/client';
import { createConcert } from './support/fixtures';
import { startApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';

let server: TestServer | undefined;

/** The database of a start with no demo data, stopped again: migrated and empty. */
async function migratedEmpty(name: string): Promise<string> {
  const started = await startTestServer(name, { RUN_WORKERS: 'false', SEED_DEMO: 'false' });
  await started.stop();
  return databaseOf(started);
}
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** What the admin-token tests ask for: createConcert, an operation for the ADMIN role only. */
const ADMIN_ONLY_INPUT = { title: 'Admin check', venue: 'Hall', maxActiveUsers: 1, schedules: [{ startsAt: '2030-01-01T19:00:00Z', seatCount: 1, price: 1 }] };

/**
 * Runs the compiled server (as `npm start` does) on a fresh sandbox with `overrides` until it exits by
 * itself; `markedAt`: when the output first matched `mark`.
 */
async function runUntilExit(name: string, overrides: Record<string, string>, mark?: RegExp): Promise<{ code: number | null; output: string; markedAt?: number }> {
  const env = testEnv(name, { LOG_LEVEL: 'info', PORT: '0' });
  await resetSandbox(env);
  const child = spawn(process.execPath, ['dist/src/main.js'], { env: { ...process.env, ...env, ...overrides }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let markedAt: number | undefined;
  const add = (chunk: Buffer) => {
    output += chunk.toString();
    if (markedAt === undefined && mark?.test(output)) markedAt = Date.now();
  };
  child.stdout.on('data', add);
  child.stderr.on('data', add);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output, markedAt };
}

/** A SIGTERM to a process still starting ends it with 0 within 3 s: not at a start-up limit, nor at the shutdown's 10 s deadline. */
async function expectPromptStop(starting: { child: ChildProcess; exited: Promise<number | null> }): Promise<void> {
  try {
    const signalled = Date.now();
    starting.child.kill('SIGTERM');
    expect(await starting.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(3000);
  } finally {
    if (starting.child.exitCode === null) starting.child.kill('SIGKILL');
  }
}

const titles = async (url: string) => (await new Api(url).data<{ concerts: { title: string }[] }>('{ concerts { title } }')).concerts.map((c) => c.title);

/** The test Redis (TEST_REDIS_URL, its password included) in database `n`. */
const inDatabase = (n: number) => Object.assign(new URL(TEST_REDIS_URL), { pathname: `/${n}` }).toString();
describe('start-up', () => {
  it('says it waits for a Redis that does not answer, then stops with the reason (exit 1), its password unsaid', async () => {
    const { code, output, markedAt } = await runUntilExit('startup_no_redis', { REDIS_URL: 'redis://:hunter2@127.0.0.1:1/0', REDIS_CLUSTER_NODES: '' }, /waiting for Redis/);
    expect(code).toBe(1);
    // Timed from its first word of waiting (5 s into the 20 s wait), not from the spawn: the start-up
    // before it is not what this asserts, and under load it took the run past a 40 s bound.
    expect(markedAt).toBeDefined();
    expect(Date.now() - markedAt!).toBeLessThan(30_000);
    expect(output).toMatch(/"msg":"waiting for Redis at redis:\/\/127\.0\.0\.1:1\/0"/);
    expect(output).toMatch(/failed to start: Redis at redis:\/\/127\.0\.0\.1:1\/0: no answer within 20 s \(.*ECONNREFUSED/);
    expect(output).not.toMatch(/hunter2/);
    expect(output).not.toMatch(/"msg":"listening"/);
  }, 90_000);

  it('stops at once, exit 0, on a SIGTERM while it waits for Redis', async () => {
    const env = testEnv('startup_term_waiting', {});
    await resetSandbox(env);
    await expectPromptStop(await spawnProcess({ ...env, REDIS_URL: 'redis://127.0.0.1:1/0', REDIS_CLUSTER_NODES: '' }, (line) => line.msg?.startsWith('waiting for Redis') ?? false));
  }, 60_000);

  it("stops at once, exit 0, on a SIGTERM while it waits for another replica's start-up (its lock)", async () => {
    const env = testEnv('startup_term_locked', {});
    await resetSandbox(env);
    const database = new URL(env.DATABASE_URL as string).pathname.slice(1);
    const holder = await createConnection(TEST_MYSQL_ROOT);
    try {
      await holder.query('select get_lock(?, 10)', [`${database}:startup`]);
      const waiting = await spawnProcess(env, (line) => line.msg?.startsWith('JWT_SECRET is not set') ?? false);
      const waits = async () =>
        ((await holder.query("select count(*) as n from information_schema.processlist where db = ? and info like 'select get_lock(%'", [database]))[0] as { n: number }[])[0]?.n;
      await vi.waitFor(async () => expect(await waits()).toBe(1), { timeout: 10_000, interval: 50 }).catch((error: unknown) => {
        waiting.child.kill('SIGKILL');
        throw error;
      });
      await expectPromptStop(waiting);
    } finally {
      await holder.end();
    }
  }, 60_000);

  it('stops with `npm start` when npm is sent SIGTERM, leaving no server behind', async () => {
    const env = testEnv('startup_npm_term', { LOG_LEVEL: 'info', PORT: '0' });
    await resetSandbox(env);
    // The start script as users run it (its build step skipped: the suite runs on a built tree), in a
    // process group of its own: the server stays in it even when orphaned, so the group tells whether it runs.
    const npm = spawn('npm', ['start', '--ignore-scripts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const group = npm.pid as number;
    const npmExited = new Promise<number | null>((resolve) => npm.once('exit', resolve));
    const groupAlive = () => {
      try {
        process.kill(-group, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('npm start did not listen')), 60_000);
        npm.stdout.on('data', (chunk: Buffer) => {
          if (!chunk.toString().includes('"msg":"listening"')) return;
          clearTimeout(timer);
          resolve();
        });
      });
      // npm alone, as a process manager or a terminal's kill sends it (not the group, as Ctrl-C does).
      npm.kill('SIGTERM');
      await npmExited;
      // The server got the signal too: it drains and exits (within its 10 s) rather than run on, orphaned.
      await vi.waitFor(() => expect(groupAlive()).toBe(false), { timeout: 15_000, interval: 100 });
    } finally {
      if (groupAlive()) process.kill(-group, 'SIGKILL');
    }
  }, 90_000);

  it('says it waits for a MySQL that does not answer, then stops with the reason (exit 1), its password unsaid', async () => {
    const { code, output, markedAt } = await runUntilExit('startup_no_mysql', { DATABASE_URL: 'mysql://root:hunter2@127.0.0.1:1/nowhere' }, /waiting for MySQL/);
    expect(code).toBe(1);
    // Timed from its first word of waiting, 5 s into the 20 s wait (as for Redis above).
    expect(markedAt).toBeDefined();
    expect(Date.now() - markedAt!).toBeLessThan(30_000);
    expect(output).toMatch(/"msg":"waiting for MySQL at mysql:\/\/root@127\.0\.0\.1:1\/nowhere"/);
    expect(output).toMatch(/failed to start: MySQL at mysql:\/\/root@127\.0\.0\.1:1\/nowhere: no answer within 20 s \(.*ECONNREFUSED/);
    expect(output).not.toMatch(/hunter2/);
  }, 90_000);

  it('stops at once (exit 1) when MySQL refuses its credentials: no wait', async () => {
    const url = Object.assign(new URL(testEnv('startup_mysql_denied', {}).DATABASE_URL as string), { username: 'no_such_user', password: 'hunter2' });
    const started = Date.now();
    const { code, output } = await runUntilExit('startup_mysql_denied', { DATABASE_URL: url.toString() });
    expect(code).toBe(1);
    expect(output).toMatch(/failed to start: MySQL at mysql:\/\/no_such_user@.*: Access denied/);
    expect(output).not.toMatch(/waiting for MySQL/);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);

  it('starts once a MySQL that was not there yet answers (it may start beside the service), and stops at once on a SIGTERM while it waits', async () => {
    const env = testEnv('startup_mysql_late', { RUN_WORKERS: 'false' });
    await resetSandbox(env);
    const mysql = new URL(env.DATABASE_URL as string);
    // MySQL "starting": a port nothing listens on yet, then one that forwards to the test MySQL.
    const port = await closedPort();
    const late = { ...env, DATABASE_URL: Object.assign(new URL(mysql), { port: String(port) }).toString() };
    await expectPromptStop(await spawnProcess(late, (line) => line.msg?.startsWith('waiting for MySQL') ?? false));
    const waiting = spawnProcess(late, (line) => line.msg === 'listening');
    const forwarder = createServer((socket) => {
      const upstream = connect(Number(mysql.port || 3306), mysql.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await new Promise<void>((resolve, reject) => forwarder.once('error', reject).listen(port, '127.0.0.1', resolve));
      const { child, line, exited } = await waiting;
      try {
        // Read from MySQL, through the forwarder (the test's sandbox seeds no demo concerts).
        expect(await titles(`http://127.0.0.1:${line.port}/graphql`)).toEqual([]);
      } finally {
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      }
    } finally {
      await new Promise((resolve) => forwarder.close(resolve));
    }
  }, 90_000);

  it('stops (exit 1) with one line saying so when its port is in use: no stack from the WebSocket server', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
    try {
      const port = (holder.address() as AddressInfo).port;
      const { code, output } = await runUntilExit('startup_port_in_use', { PORT: String(port) });
      expect(code).toBe(1);
      expect(output).toMatch(new RegExp(`failed to start: listen EADDRINUSE: address already in use .*${port}`));
      expect(output).not.toMatch(/Internal error|\n\s+at /);
    } finally {
      holder.close();
    }
  }, 60_000);

  it('stops (exit 1) when Redis has no database of the index REDIS_URL names, instead of using database 0', async () => {
    const { code, output } = await runUntilExit('startup_redis_no_db', { REDIS_URL: inDatabase(99), REDIS_CLUSTER_NODES: '' });
    expect(code).toBe(1);
    expect(output).toMatch(/failed to start: Redis at redis:\/\/[^/\s]+\/99: REDIS_URL names database 99, which this Redis does not have/);
    expect(output).not.toMatch(/"msg":"listening"/);
  }, 60_000);

  it('names ADMIN_EMAIL when it is no address, and warns when only one of the pair is set, making no ADMIN', async () => {
    const invalid = await runUntilExit('startup_admin_email', { ADMIN_EMAIL: 'not-an-email' });
    expect(invalid.code).toBe(1);
    expect(invalid.output).toMatch(/failed to start: ADMIN_EMAIL \/ ADMIN_PASSWORD: That is not a valid email address/);
    // Either one alone: warned, and no account made ADMIN (there is no admin without both).
    for (const [name, half] of [['startup_admin_email_only', { ADMIN_PASSWORD: '' }], ['startup_admin_password_only', { ADMIN_EMAIL: '' }]] as const) {
      const env = testEnv(name, half);
      await resetSandbox(env);
      let warned = false;
      const started = await spawnProcess({ ...env, ...half }, (line) => {
        warned ||= line.msg?.startsWith('Only one of ADMIN_EMAIL and ADMIN_PASSWORD') ?? false;
        return line.msg === 'listening';
      });
      try {
        expect(warned, name).toBe(true);
        const probe = await createConnection(TEST_MYSQL_ROOT);
        try {
          const [rows] = await probe.query(`select count(*) as n from \`${databaseOf({ env })}\`.users where role = 'ADMIN'`);
          expect(Number((rows as { n: number }[])[0]?.n), name).toBe(0);
        } finally {
          await probe.end();
        }
      } finally {
        started.child.kill('SIGTERM');
        await started.exited;
      }
    }
  }, 60_000);

  it('warns in production that GET /metrics is open while METRICS_TOKEN is unset', async () => {
    const env = testEnv('startup_metrics_open', { RUN_WORKERS: 'false' });
    await resetSandbox(env);
    const production = { ...env, NODE_ENV: 'production', PASSWORD_HASH_COST: '15', JWT_SECRET: 'k'.repeat(48), METRICS_TOKEN: '' };
    const open = await spawnProcess(production, (line) => line.msg?.startsWith('METRICS_TOKEN is not set: anyone who reaches this port can read GET /metrics') ?? false);
    open.child.kill('SIGTERM');
    await open.exited;
  }, 60_000);

  it('closes every MySQL connection it opened when it stops, on a database that existed or not', async () => {
    const probe = await createConnection(TEST_MYSQL_ROOT);
    try {
      for (const reset of [true, false]) {
        server = await startTestServer('startup_close', { RUN_WORKERS: 'false' }, { reset });
        const database = databaseOf(server);
        // /readyz asks MySQL on a connection of its own, outside the ORM's pool.
        expect((await fetch(server.url.replace('/graphql', '/readyz'))).status).toBe(200);
        await server.stop();
        server = undefined;
        const open = async () => ((await probe.query('SELECT COUNT(*) AS n FROM information_schema.processlist WHERE db = ?', [database]))[0] as { n: number }[])[0]?.n;
        await vi.waitFor(async () => expect(await open()).toBe(0), { timeout: 3000 });
      }
    } finally {
      await probe.end();
    }
  });

  it('closes the MySQL connections it opened when its start-up fails after them (its port in use)', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
    const probe = await createConnection(TEST_MYSQL_ROOT);
    try {
      const env = testEnv('startup_failed_late', { RUN_WORKERS: 'false', SEED_DEMO: 'false', PORT: String((holder.address() as AddressInfo).port) });
      await resetSandbox(env);
      await expect(startApp(loadConfig(env), createLogger('silent'))).rejects.toThrow(/EADDRINUSE/);
      const open = async () => ((await probe.query('SELECT COUNT(*) AS n FROM information_schema.processlist WHERE db = ?', [databaseOf({ env })]))[0] as { n: number }[])[0]?.n;
      await vi.waitFor(async () => expect(await open()).toBe(0), { timeout: 3000 });
    } finally {
      await probe.end();
      holder.close();
    }
  });

  it('starts on a database whose first start was killed during the first migration; leaves one with data alone', async () => {
    const probe = await createConnection(TEST_MYSQL_ROOT);
    try {
      const database = await migratedEmpty('startup_half_migrated');
      // What the kill leaves (MySQL rolls no DDL back): some of the first migration's tables, none recorded.
      await probe.query(`delete from \`${database}\`.mikro_orm_migrations`);
      for (const table of ['point_transactions', 'reservations', 'payments', 'users']) await probe.query(`drop table \`${database}\`.\`${table}\``);
      // Beside a table of someone else's, even an empty one, it is not a database of ours alone: nothing is dropped; the start fails.
      await probe.query(`create table \`${database}\`.legacy_notes (id int primary key)`);
      await expect(startTestServer('startup_half_migrated', { RUN_WORKERS: 'false', SEED_DEMO: 'false' }, { reset: false })).rejects.toThrow(/already exists/);
      const [tables] = await probe.query('select table_name as name from information_schema.tables where table_schema = ?', [database]);
      expect((tables as { name: string }[]).map((table) => table.name)).toEqual(expect.arrayContaining(['legacy_notes', 'concerts']));
      await probe.query(`drop table \`${database}\`.legacy_notes`);
      server = await startTestServer('startup_half_migrated', { RUN_WORKERS: 'false', SEED_DEMO: 'false' }, { reset: false });
      const { concertId } = await createConcert(server);
      const [fan] = await signUpMany(new Api(server.url), 1);
      expect((await fan!.api.data<{ enterQueue: { state: string } }>(ENTER, { id: concertId })).enterQueue.state).toMatch(/WAITING|ACTIVE/);
      await server.stop();
      server = undefined;

      // Rows in a table: not a database that never held data. Nothing is dropped; the start fails.
      await probe.query(`delete from \`${database}\`.mikro_orm_migrations`);
      await expect(startTestServer('startup_half_migrated', { RUN_WORKERS: 'false', SEED_DEMO: 'false' }, { reset: false })).rejects.toThrow(/already exists/);
      expect(((await probe.query(`select count(*) as n from \`${database}\`.concerts`))[0] as { n: number }[])[0]?.n).toBe(1);
    } finally {
      await probe.end();
    }
  });

  it('seeds demo concerts into an empty database once, and not at all with SEED_DEMO=false', async () => {
    server = await startTestServer('startup_seed', { SEED_DEMO: 'false', RUN_WORKERS: 'false' });
    expect(await titles(server.url)).toEqual([]);
    await server.stop();
    server = await startTestServer('startup_seed', { SEED_DEMO: 'true', RUN_WORKERS: 'false' }, { reset: false });
    const seeded = await titles(server.url);
    expect(seeded.length).toBeGreaterThanOrEqual(3);
    // Shows a month or two ahead, on the hour: a fresh start has dates that can still be booked.
    const { concerts } = await new Api(server.url).data<{ concerts: { schedules: { startsAt: string }[] }[] }>('{ concerts { schedules { startsAt } } }');
    const starts = concerts.flatMap((concert) => concert.schedules.map((schedule) => Date.parse(schedule.startsAt)));
    expect(starts.length).toBeGreaterThanOrEqual(5);
    for (const at of starts) expect([at - Date.now() > 29 * 86_400_000, at - Date.now() < 62 * 86_400_000, at % 3_600_000]).toEqual([true, true, 0]);
    await server.stop();
    server = await startTestServer('startup_seed', { SEED_DEMO: 'true', RUN_WORKERS: 'false' }, { reset: false });
    expect(await titles(server.url)).toEqual(seeded);
  });

  it('seeds the demo concerts all or none: a seed cut short part-way leaves none, and the next start seeds them all', async () => {
    const probe = await createConnection(TEST_MYSQL_ROOT);
    try {
      const database = await migratedEmpty('startup_seed_cut');
      // The second demo concert's insert fails, as a start killed between two concerts would stop there.
      await probe.query(
        `create trigger \`${database}\`.cut_seed before insert on \`${database}\`.concerts for each row if new.title = 'The Midnight Strings' then signal sqlstate '45000' set message_text = 'cut short'; end if`,
      );
      await expect(startTestServer('startup_seed_cut', { SEED_DEMO: 'true', RUN_WORKERS: 'false' }, { reset: false })).rejects.toThrow();
      expect(((await probe.query(`select count(*) as n from \`${database}\`.concerts`))[0] as { n: number }[])[0]?.n).toBe(0);
      await probe.query(`drop trigger \`${database}\`.cut_seed`);
      server = await startTestServer('startup_seed_cut', { SEED_DEMO: 'true', RUN_WORKERS: 'false' }, { reset: false });
      expect(await titles(server.url)).toEqual(expect.arrayContaining(['Aurora Live', 'The Midnight Strings', 'Neon Harbour Festival']));
    } finally {
      await probe.end();
    }
  });

  it('lets two replicas start at once on a fresh database: both start, demo concerts seeded once, one admin', async () => {
    const env = testEnv('startup_race', { SEED_DEMO: 'true', RUN_WORKERS: 'false' });
    await resetSandbox(env);
    const started = await Promise.allSettled([spawnServer(env), spawnServer(env)]);
    const replicas = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      expect(started.map((result) => (result.status === 'rejected' ? String(result.reason) : 'started'))).toEqual(['started', 'started']);
      for (const replica of replicas) expect(await titles(replica.url)).toHaveLength(3);
      server = await startTestServer('startup_race', { RUN_WORKERS: 'false' }, { reset: false });
      const admins = await server.app.orm.em.getConnection().execute<{ n: number }[]>('select count(*) as n from users where email = ?', [ADMIN.email]);
      expect(Number(admins[0]?.n)).toBe(1);
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
  });

  it('seeds the demo concerts once when two replicas start at once on a migrated, empty database', async () => {
    server = await startTestServer('startup_seed_race', { SEED_DEMO: 'false', RUN_WORKERS: 'false' });
    await server.stop();
    server = undefined;
    const env = testEnv('startup_seed_race', { SEED_DEMO: 'true', RUN_WORKERS: 'false' });
    const started = await Promise.allSettled([spawnServer(env), spawnServer(env)]);
    const replicas = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      expect(replicas).toHaveLength(2);
      for (const replica of replicas) expect(await titles(replica.url)).toHaveLength(3);
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
  });

  it('makes the configured admin account with the password as set, even one shorter than sign-up allows', async () => {
    server = await startTestServer('startup_short_admin', { ADMIN_EMAIL: 'Boss@Example.test', ADMIN_PASSWORD: 'admin', RUN_WORKERS: 'false' });
    const { logIn } = await new Api(server.url).data<{ logIn: { user: { email: string; role: string } } }>(LOG_IN, { email: 'boss@example.test', password: 'admin' });
    expect(logIn.user).toEqual(expect.objectContaining({ email: 'boss@example.test', role: 'ADMIN' }));
  });

  it('refuses tokens issued before the operator named the account ADMIN_EMAIL or changed ADMIN_PASSWORD, for ADMIN power and everything else', async () => {
    const name = 'startup_admin_tokens';
    const asAdmin = (password: string) => ({ ADMIN_EMAIL: 'takeover@example.test', ADMIN_PASSWORD: password, RUN_WORKERS: 'false' });
    // Each restart listens on a new port: the token, not the client, carries over.
    const create = (fan: Account) => new Api(server!.url).as(fan.token).request(CREATE_CONCERT, { input: ADMIN_ONLY_INPUT });
    // Someone signs the address up before the operator configures it (tokens count whole seconds).
    server = await startTestServer(name, { RUN_WORKERS: 'false' });
    const squatter = await signUp(new Api(server.url), 'takeover@example.test', 'squatters-password');
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 1100));

    server = await startTestServer(name, asAdmin('operators-password'), { reset: false });
    expect((await create(squatter)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // Nor may the squatter's token act as the account any other way (read it, spend its points, cancel its tickets).
    const meOf = async (fan: Account) => (await new Api(server!.url).as(fan.token).request('{ me { id email } }')).errors?.[0]?.extensions?.code;
    expect(await meOf(squatter)).toBe('UNAUTHENTICATED');
    const operator = await logIn(new Api(server.url), 'takeover@example.test', 'operators-password');
    expect((await create(operator)).errors).toBeUndefined();
    // A restart with the same settings changes nothing: the operator's token keeps working.
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    server = await startTestServer(name, asAdmin('operators-password'), { reset: false });
    expect((await create(operator)).errors).toBeUndefined();
    // A new ADMIN_PASSWORD (the old one leaked) ends the old tokens' ADMIN power.
    await server.stop();
    server = await startTestServer(name, asAdmin('a-new-password'), { reset: false });
    expect((await create(operator)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await meOf(operator)).toBe('UNAUTHENTICATED');
    const renewed = await logIn(new Api(server.url), 'takeover@example.test', 'a-new-password');
    expect((await create(renewed)).errors).toBeUndefined();
    expect(await meOf(renewed)).toBeUndefined();
  });

  it('upgrading marks the admins made by earlier versions: their older tokens lose ADMIN power, other accounts are untouched', async () => {
    server = await startTestServer('startup_admin_upgrade', { RUN_WORKERS: 'false' });
    const api = new Api(server.url);
    const migration = 'Migration20261214100000';
    // The database as the version before this migration left it, with an admin signed in then.
    await server.app.orm.migrator.down(migration);
    const before = await logIn(api, ADMIN.email, ADMIN.password);
    const fan = await signUp(api);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // tokens count whole seconds
    await server.app.orm.migrator.up(migration);

    expect((await before.api.request(CREATE_CONCERT, { input: ADMIN_ONLY_INPUT })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await (await logIn(api, ADMIN.email, ADMIN.password)).api.request(CREATE_CONCERT, { input: ADMIN_ONLY_INPUT })).errors).toBeUndefined();
    const marks = await server.app.orm.em.getConnection().execute<{ id: number | string; marked: number }[]>('select id, credentials_changed_at is not null as marked from users where email in (?, ?)', [ADMIN.email, fan.email]);
    expect(Object.fromEntries(marks.map((row) => [String(row.id), Number(row.marked)]))).toEqual({ [before.id]: 1, [fan.id]: 0 });
  });

  it('honours the /N database index of REDIS_URL', async () => {
    server = await startTestServer('startup_redis_db', { REDIS_URL: inDatabase(7), RUN_WORKERS: 'false' });
    const { concertId } = await createConcert(server);
    const fan = await signUp(new Api(server.url));
    await fan.api.data(ENTER, { id: concertId });
    const wait = server.app.services.config.redisPrefix + `:{c:${concertId}}:wait`;
    const db7 = new Redis(inDatabase(7));
    const db0 = new Redis(inDatabase(0));
    try {
      expect(await db7.zscore(wait, fan.id)).not.toBeNull();
      expect(await db0.exists(wait)).toBe(0);
      // Channels are shared by all databases: its own carry the index, or a deployment on /0 with the same prefix would hear its ticks and seat changes.
      const prefix = server.app.services.config.redisPrefix;
      const listeners = async (channel: string) => Number(((await db0.pubsub('NUMSUB', channel)) as [string, number])[1]);
      expect(await listeners(`${prefix}:db7:queue-ticks`)).toBeGreaterThan(0);
      expect(await listeners(`${prefix}:queue-ticks`)).toBe(0);
    } finally {
      db7.disconnect();
      db0.disconnect();
    }
  });
});

/**
 * The rehearsal as a library function: starts the replicas, creates the concert, plays the fans
 * (in worker processes, or in this process with workers: 0), samples the waiting room while they
 * play, then checks integrity from MySQL and returns everything the report needs.
 */
import { randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool, type RowDataPacket } from 'mysql2/promise';
import { hashPassword } from '../../src/auth/passwords';
import { signToken, tokenKey } from '../../src/auth/tokens';
import { Role } from '../../src/entities';
import { redisDatabase, redisKeys } from '../../src/redis';
import { Api } from '../../support/graphql-client';
import { CREATE_CONCERT, LOG_IN } from '../../support/operations';
import { resetSandbox, sandboxRedis } from '../../support/sandbox';
import { playAbusers, type AbuserResult } from './abusers';
import { analyse, type Analysis, type RunData } from './analyse';
import { playFans, type FanLog, type Stage } from './fan';
import type { WorkerLoad, WorkerReply } from './fan-worker';
import { checkIntegrity } from './integrity';
import { listenOverflows } from './kernel';
import { planFans, type FanPlan, type RehearsalOptions } from './plan';
import { startReplica, type Replica, type Usage } from './servers';
import { summarizeProfile } from '../lib/profile';
import { sleep } from '../lib/util';

/** How long the abusers hammer, from the opening: past a minute's worth of the per-account limit. */
const ABUSE_SECONDS = 30;
// Drawn for each run: a value written here would be one anyone could sign or log in with.
const JWT_SECRET = randomBytes(32).toString('hex');
const ADMIN = { email: 'admin@rehearsal.test', password: randomBytes(12).toString('hex') };

export interface Sample {
  /** ms since opening */
  t: number;
  waiting: number;
  active: number;
  seatsLeft: number;
  sold: number;
  soldOut: boolean;
}

/** What analyse reads (RunData), plus the run's end, full samples, abusers and per-replica usage. */
export interface RehearsalRun extends RunData {
  endedAt: number;
  samples: Sample[];
  abusers: AbuserResult[];
  usage: { name: string; role: string; cpuSeconds: number; cpuShare: number; peakRssMiB: number }[];
  /** The fan worker processes' own load (none when the fans play in the calling process). */
  clients: WorkerLoad[];
  /** Where it ran. */
  sandbox: RehearsalSandbox;
  /** Accept-queue overflows on this machine during the play (see kernel.ts). */
  listenOverflows?: number;
  /** Per replica, its CPU profile summarised (options.profile). */
  profiles: { name: string; summary: string }[];
  analysis: Analysis;
}

/** Where the rehearsal runs: a database (dropped first) and a Redis prefix (wiped first) on one Redis or a cluster. */
export interface RehearsalSandbox {
  DATABASE_URL: string;
  REDIS_URL: string;
  REDIS_KEY_PREFIX: string;
  /** Seeds of a Redis Cluster (host:port,…): used instead of REDIS_URL, by the replicas and the rehearsal alike. */
  REDIS_CLUSTER_NODES?: string;
}

/** `sandbox` names where to run; nothing else is touched. */
export async function runRehearsal(options: RehearsalOptions, sandbox: RehearsalSandbox, say: (line: string) => void = () => {}): Promise<RehearsalRun> {
  const env = Object.fromEntries(Object.entries(sandbox).filter((entry): entry is [string, string] => entry[1] !== undefined));
  await resetSandbox(env);
  const baseEnv: Record<string, string> = {
    ...env,
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    PASSWORD_HASH_COST: '4',
    SEED_DEMO: 'false',
    JWT_SECRET,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ADMISSION_INTERVAL_MS: String(options.admissionIntervalMs),
    HOLD_TTL_SECONDS: String(options.holdTtlSeconds),
    ACTIVE_TTL_SECONDS: String(options.activeTtlSeconds),
    PRESENCE_GRACE_SECONDS: String(options.presenceGraceSeconds),
    ACTIVE_IDLE_SECONDS: String(options.activeIdleSeconds),
    // Limits on, at their production defaults: every fan presents its own address.
    TRUST_PROXY: 'true',
    RATE_LIMIT_PER_MINUTE: '600',
    RATE_LIMIT_IP_PER_MINUTE: '1200',
    LOGIN_ATTEMPTS_PER_15_MIN: '10',
    MAX_SOCKETS_PER_USER: '5',
  };
  const replicas: Replica[] = [];
  const sql = createPool({ uri: sandbox.DATABASE_URL, connectionLimit: 4, timezone: 'Z' });
  const redis = sandboxRedis(env);
  const subscriber = sandboxRedis(env);
  const profileDir = options.profile ? mkdtempSync(path.join(os.tmpdir(), 'rehearsal-prof-')) : undefined;
  // One directory per replica, so each profile is known to be whose.
  const profileArgs = (i: number) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, String(i))}`] : []);
  let run: RehearsalRun;
  try {
    say(`starting ${options.replicas} replica(s)${options.profile ? ' (CPU-profiled)' : ''}${env.REDIS_CLUSTER_NODES ? ` on the Redis Cluster ${env.REDIS_CLUSTER_NODES}` : ''}`);
    // The first runs the workers and the migrations; the others start once the schema is there.
    replicas.push(await startReplica({ ...baseEnv, RUN_WORKERS: 'true' }, 'replica-0 (API + workers)', profileArgs(0)));
    replicas.push(...(await Promise.all(Array.from({ length: options.replicas - 1 }, (_, i) => startReplica({ ...baseEnv, RUN_WORKERS: 'false' }, `replica-${i + 1} (API only)`, profileArgs(i + 1))))));

    say(`creating ${options.fans} fans in SQL`);
    const users = await createUsers(sql, options.fans + (options.abusers ? 3 : 0));
    const plans = planFans(options, users.slice(0, options.fans));

    const admin = new Api(replicas[0]!.url);
    const { logIn } = await admin.data<{ logIn: { token: string } }>(LOG_IN, ADMIN);
    const api = admin.as(logIn.token);

    // Fan workers first (they take a moment to load), then the concert, so the pre-queue window is real.
    const workers = options.workers > 0 ? await startWorkers(options.workers) : [];

    const openAt = Date.now() + options.preOpenSeconds * 1000;
    const { createConcert } = await api.data<{ createConcert: { id: string } }>(CREATE_CONCERT, {
      input: { title: 'Rehearsal', venue: 'Loopback Arena', maxActiveUsers: options.capacity, salesOpenAt: new Date(openAt).toISOString(), schedules: [{ startsAt: '2031-01-01T19:00:00Z', seatCount: options.seats, price: options.price }] },
    });
    const concert = await api.data<{ concert: { schedules: { id: string }[] } }>('query($id: ID!) { concert(id: $id) { schedules { id } } }', { id: createConcert.id });
    const stage: Stage = {
      urls: replicas.map(({ url, wsUrl }) => ({ url, wsUrl })),
      concertId: createConcert.id,
      scheduleId: concert.concert.schedules[0]!.id,
      openAt,
      stopAt: openAt + options.maxSeconds * 1000,
      activeTtlSeconds: options.activeTtlSeconds,
      thinkMs: options.thinkMs,
      price: options.price,
    };

    // ---- watching: ticks, and the line every sampleIntervalMs ----
    const keys = redisKeys(sandbox.REDIS_KEY_PREFIX, sandbox.REDIS_CLUSTER_NODES ? 0 : redisDatabase({ url: sandbox.REDIS_URL }));
    const queueKeys = keys.queue(Number(createConcert.id));
    const ticks: number[] = [];
    const ownChanges = new Map<number, number[]>();
    // Admission ticks, and apart from them a fan's own change (enter, leave, pay): `fans` names it.
    subscriber.on('message', (_channel: string, message: string) => {
      const tick = JSON.parse(message) as { concerts?: unknown[]; fans?: [number, number][] };
      if (tick.concerts?.length && !tick.fans) ticks.push(Date.now());
      for (const [, userId] of tick.fans ?? []) noteTime(ownChanges, userId, Date.now());
    });
    await subscriber.subscribe(keys.channels.queueTicks);
    const samples: Sample[] = [];
    const activeSamples = new Map<number, number[]>();
    const lastInWait = new Map<number, number>();
    const sampleIntervalMs = 250;
    let sampling = true;
    // Straight from Redis and MySQL, not through a replica: a loaded replica would stretch the interval.
    // seatsLeft and the sold-out flag are what the last tick wrote into the concert's stats.
    let sampleNumber = 0;
    const sampler = (async () => {
      while (sampling) {
        const started = Date.now();
        // The whole line (thousands) only every 4th sample: it serves the forgetting figures, to the second.
        const readWait = sampleNumber++ % 4 === 0;
        const [[, waiting], [, active], [, stats], [, inWait]] = (await redis
          .pipeline()
          .zcard(queueKeys.wait)
          .zrange(queueKeys.active, 0, -1)
          .hmget(queueKeys.stats, 'left', 'soldOut')
          .zrange(queueKeys.wait, 0, readWait ? -1 : 0)
          .exec()) as [unknown, unknown][];
        const [[row]] = await sql.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM reservations WHERE status = 'CONFIRMED'");
        const now = Date.now();
        for (const member of active as string[]) noteTime(activeSamples, Number(member), now);
        if (readWait) for (const member of inWait as string[]) lastInWait.set(Number(member), now);
        const [left, soldOut] = stats as [string | null, string | null];
        // A cancellation clears the stored count until the next tick rewrites it: keep the last one meanwhile.
        const seatsLeft = left === null ? (samples.at(-1)?.seatsLeft ?? NaN) : Number(left);
        samples.push({ t: now - openAt, waiting: Number(waiting), active: (active as string[]).length, seatsLeft, sold: Number(row?.n ?? 0), soldOut: soldOut === '1' });
        await sleep(sampleIntervalMs - (Date.now() - started));
      }
    })();

    say(`playing ${options.fans} fans (opening in ${options.preOpenSeconds} s)`);
    const cpuBefore = replicas.map((replica) => replica.usage());
    const overflowsBefore = listenOverflows();
    const playStarted = Date.now();
    const abusing = options.abusers ? playAbusers(users.slice(options.fans), stage, ABUSE_SECONDS) : Promise.resolve([]);
    const { logs, clients } = options.workers > 0 ? await playInWorkers(workers, plans, stage) : { logs: await playFans(plans, stage), clients: [] };
    const abusers = await abusing;
    const endedAt = Date.now();
    const cpuAfter = replicas.map((replica) => replica.usage());
    const overflowsAfter = listenOverflows();
    await sleep(sampleIntervalMs * 2);
    sampling = false;
    await sampler;

    say('checking integrity');
    const integrity = await checkIntegrity(sql, Number(stage.scheduleId));
    const usage = replicas.map((replica, i) => {
      const before = cpuBefore[i] as Usage;
      const after = cpuAfter[i] as Usage;
      const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
      return { name: replica.name, role: i === 0 ? 'API + workers' : 'API', cpuSeconds, cpuShare: cpuSeconds / ((endedAt - playStarted) / 1000), peakRssMiB: after.peakRssMiB };
    });
    const data = { options, openAt, endedAt, samples, ticks, ownChanges, activeSamples, sampleIntervalMs, lastInWait, logs, plans, integrity, usage, abusers, clients, profiles: [] };
    const overflows = overflowsBefore === undefined || overflowsAfter === undefined ? undefined : overflowsAfter - overflowsBefore;
    run = { ...data, sandbox, listenOverflows: overflows, analysis: analyse(data) };
  } finally {
    await Promise.all(replicas.map((replica) => replica.stop()));
    subscriber.disconnect();
    redis.disconnect();
    await sql.end();
  }
  if (profileDir) {
    // Written by each replica as it exits (node --cpu-prof), so only now.
    run.profiles = replicas.map((replica, i) => {
      const dir = path.join(profileDir, String(i));
      const file = (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []).find((entry) => entry.name.endsWith('.cpuprofile'));
      return { name: replica.name, summary: file ? summarizeProfile(path.join(dir, file.name), 15) : 'no profile written (the replica did not exit cleanly)' };
    });
    rmSync(profileDir, { recursive: true, force: true });
  }
  return run;
}

/** Adds `at` to the times recorded for `id`. */
function noteTime(times: Map<number, number[]>, id: number, at: number): void {
  const list = times.get(id);
  if (list) list.push(at);
  else times.set(id, [at]);
}

async function createUsers(sql: ReturnType<typeof createPool>, count: number): Promise<{ id: number; token: string }[]> {
  const hash = await hashPassword('rehearsal-password', 4);
  for (let i = 0; i < count; i += 2000) {
    const rows = Array.from({ length: Math.min(2000, count - i) }, (_, j) => [`fan-${i + j}@rehearsal.test`, hash]);
    await sql.query('INSERT INTO users (email, password_hash) VALUES ?', [rows]);
  }
  const [found] = await sql.query<RowDataPacket[]>("SELECT id, email FROM users WHERE email LIKE 'fan-%@rehearsal.test'");
  const ids = new Map(found.map((row) => [String(row.email), Number(row.id)]));
  const key = tokenKey(JWT_SECRET);
  return Array.from({ length: count }, (_, i) => {
    const id = ids.get(`fan-${i}@rehearsal.test`);
    if (!id) throw new Error(`fan ${i} was not created`);
    return { id, token: signToken({ id, role: Role.USER }, 0, key, 3600) };
  });
}

type Worker = ReturnType<typeof fork>;

/** Forks the compiled fan workers (dist-bench) and waits until each has loaded. */
async function startWorkers(count: number): Promise<Worker[]> {
  return Promise.all(
    Array.from({ length: count }, () => {
      const child = fork(path.join(__dirname, 'fan-worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      return new Promise<Worker>((resolve, reject) => {
        child.once('message', (reply: WorkerReply) => (reply.type === 'ready' ? resolve(child) : reject(new Error(`fan worker: ${JSON.stringify(reply)}`))));
        child.once('exit', (code) => reject(new Error(`fan worker exited with ${code}`)));
      });
    }),
  );
}

async function playInWorkers(workers: Worker[], plans: FanPlan[], stage: Stage): Promise<{ logs: FanLog[]; clients: WorkerLoad[] }> {
  const parts = await Promise.all(
    workers.map(
      (worker, w) =>
        new Promise<{ logs: FanLog[]; load: WorkerLoad }>((resolve, reject) => {
          worker.on('message', (reply: WorkerReply) => {
            if (reply.type === 'done') resolve(reply);
            else if (reply.type === 'failed') reject(new Error(reply.error));
          });
          worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`fan worker exited with ${code}`))));
          worker.send({ type: 'play', plans: plans.filter((plan) => plan.index % workers.length === w), stage });
        }),
    ),
  );
  return { logs: parts.flatMap((part) => part.logs).sort((a, b) => a.index - b.index), clients: parts.map((part) => part.load) };
}

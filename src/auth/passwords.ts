import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { RateLimited } from '../errors';

/**
 * scrypt (memory-hard, salted, in Node's thread pool so it never blocks the event loop). It needs
 * 128 * N * r bytes (128 MiB at the default N = 2^17, r = 8); maxmem allows twice that.
 * Stored as `scrypt$<log2N>$<salt>$<hash>` so the cost can be raised later without breaking old hashes.
 */
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, log2N: number): Promise<Buffer> {
  const N = 2 ** log2N;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, { N, r: 8, p: 1, maxmem: 256 * N * 8 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string, log2N: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, log2N);
  return `scrypt$${log2N}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * A stored-hash string that no password matches, at the given cost: checking a password against it
 * costs exactly what checking a real hash of that cost does (no scrypt is run to make it).
 */
export function unmatchableHash(log2N: number): string {
  return `scrypt$${log2N}$${randomBytes(16).toString('base64')}$${randomBytes(KEY_LENGTH).toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, cost, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !cost || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), Number(cost));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The scrypt cost (log2 N) a stored hash was made with; 0 for one this module did not make. */
export function hashCost(stored: string): number {
  const [scheme, cost] = stored.split('$');
  return scheme === 'scrypt' ? Number(cost) || 0 : 0;
}

/** Node's thread pool: UV_THREADPOOL_SIZE threads, 4 unless set. */
const threadPoolSize = () => Number(process.env.UV_THREADPOOL_SIZE) || 4;

/** Sign-ins served in a row, while sign-ups wait, before one sign-up goes: none waits for ever. */
const SIGN_INS_BEFORE_A_SIGN_UP = 4;

/** Whose password work goes first when it queues: someone signing in before a new account. */
export type HashPriority = 'signIn' | 'signUp';

/**
 * The longest a password job may expect to wait for its turn: one expected to wait longer is refused
 * at once (RATE_LIMITED, with when to try again) rather than held in a line that a flood of sign-ups
 * could make minutes long.
 */
const MAX_EXPECTED_WAIT_MS = 10_000;

/** Whose turn calibrate's hash takes: no client's. */
const CALIBRATION = 'calibration';

/** Weight of the newest job in the running average of a job's duration. */
const AVERAGE_WEIGHT = 0.2;

/**
 * Jobs waiting, one line per client address, the addresses served in turn: a burst from one address
 * waits behind itself, not in front of everyone else's.
 */
class TakingTurns {
  /** In turn order: the address served last goes to the back. */
  private readonly lines = new Map<string, (() => void)[]>();
  private count = 0;

  /** Jobs waiting, from every address. */
  get length(): number {
    return this.count;
  }

  push(client: string, resume: () => void): void {
    const line = this.lines.get(client);
    if (line) line.push(resume);
    else this.lines.set(client, [resume]);
    this.count++;
  }

  shift(): (() => void) | undefined {
    for (const [client, line] of this.lines) {
      this.lines.delete(client);
      if (line.length > 1) this.lines.set(client, line);
      this.count--;
      return line.shift();
    }
    return undefined;
  }

  /** Jobs served before one `client` queued now: its own waiting, and from each other address as many and one at most. */
  aheadOf(client: string): number {
    const own = this.lines.get(client)?.length ?? 0;
    let ahead = 0;
    for (const line of this.lines.values()) ahead += Math.min(line.length, own + 1);
    return ahead;
  }
}

/**
 * Password hashing with a bounded number of scrypts at once and sign-ins served first. Node runs
 * scrypt in its thread pool (4 threads), first come first served: during a burst of sign-ups, a
 * fan signing in waited behind every one of them (11 s behind 60 at once). Here at most
 * `concurrency` run (one per core, leaving a pool thread free: more would only share the cores and the
 * memory, 128 MiB each, and keep the pool from file and DNS work), and a sign-in waits only for those
 * (and, while sign-ins keep coming, for one sign-up in five). Within each kind, client addresses
 * take turns. A job that would wait longer than `maxWaitMs` is refused (judged from the average
 * duration of the jobs done so far): a flood from one address is refused to it alone.
 */
export class PasswordHasher {
  private running = 0;
  private readonly waiting: Record<HashPriority, TakingTurns> = { signIn: new TakingTurns(), signUp: new TakingTurns() };
  /** Sign-ins served in a row while sign-ups waited. */
  private signInsInARow = 0;
  /** Running average of a job's duration (ms); unknown until one has finished. */
  private averageMs = 0;

  constructor(
    private readonly concurrency = Math.max(1, Math.min(availableParallelism(), threadPoolSize() - 1)),
    private readonly maxWaitMs = MAX_EXPECTED_WAIT_MS,
  ) {}

  /**
   * Measures one hash at this cost, before any request queues: until a job has finished, the average
   * is unknown and no wait can be judged too long, so a flood reaching a fresh replica would all queue.
   */
  async calibrate(log2N: number): Promise<void> {
    await this.inTurn('signIn', CALIBRATION, () => hashPassword(randomBytes(16).toString('base64'), log2N));
  }

  /** `client`: the address the request came from (whose turn it is among those waiting). */
  hash(password: string, log2N: number, priority: HashPriority, client: string): Promise<string> {
    return this.inTurn(priority, client, () => hashPassword(password, log2N));
  }

  verify(password: string, stored: string, client: string): Promise<boolean> {
    return this.inTurn('signIn', client, () => verifyPassword(password, stored));
  }

  private async inTurn<T>(priority: HashPriority, client: string, work: () => Promise<T>): Promise<T> {
    // A finishing job hands its turn straight to the next (running stays counted), so none jumps in between.
    if (this.running < this.concurrency) this.running++;
    else {
      const waitMs = this.expectedWaitMs(priority, client);
      if (waitMs > this.maxWaitMs) {
        const seconds = Math.ceil(waitMs / 1000);
        throw new RateLimited(`Too many sign-ups and sign-ins at once: please try again in ${seconds} seconds.`, seconds);
      }
      await new Promise<void>((resolve) => this.waiting[priority].push(client, resolve));
    }
    const started = performance.now();
    try {
      return await work();
    } finally {
      const tookMs = performance.now() - started;
      this.averageMs = this.averageMs === 0 ? tookMs : this.averageMs + AVERAGE_WEIGHT * (tookMs - this.averageMs);
      const next = this.nextInTurn();
      if (next) next();
      else this.running--;
    }
  }

  /**
   * How long a job queued now would wait, at the average duration: a sign-up comes after the sign-ins
   * waiting and its turn among the sign-ups; a sign-in after its turn among the sign-ins, and one
   * sign-up per four of those.
   */
  private expectedWaitMs(priority: HashPriority, client: string): number {
    const { signIn, signUp } = this.waiting;
    let ahead: number;
    if (priority === 'signUp') ahead = signIn.length + signUp.aheadOf(client);
    else {
      const signInsAhead = signIn.aheadOf(client);
      ahead = signInsAhead + Math.min(signUp.length, Math.floor(signInsAhead / SIGN_INS_BEFORE_A_SIGN_UP));
    }
    return Math.ceil((ahead + 1) / this.concurrency) * this.averageMs;
  }

  private nextInTurn(): (() => void) | undefined {
    const { signIn, signUp } = this.waiting;
    if (signIn.length > 0 && (signUp.length === 0 || this.signInsInARow < SIGN_INS_BEFORE_A_SIGN_UP)) {
      this.signInsInARow = signUp.length > 0 ? this.signInsInARow + 1 : 0;
      return signIn.shift();
    }
    this.signInsInARow = 0;
    return signUp.shift();
  }
}

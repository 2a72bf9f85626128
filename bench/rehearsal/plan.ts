/**
 * The rehearsal's cast: one plan per fan, drawn from a seeded PRNG so a run can be replayed. Pure
 * data (no I/O), shared by the orchestrator and the fan worker processes.
 */

export interface RehearsalOptions {
  fans: number;
  seats: number;
  capacity: number;
  replicas: number;
  seed: number;
  /** Fan worker processes; 0 plays every fan inside the calling process (the test does). */
  workers: number;
  /** Seconds from concert creation to salesOpenAt (the pre-queue window). */
  preOpenSeconds: number;
  /** Share of fans who enter before sales open. */
  prequeueShare: number;
  /**
   * Post-opening arrivals come in a burst that tails off (exponentially distributed delays) whose
   * peak, at the opening, is this many fans a second; the mean delay follows from it and the count.
   */
  arrivalsPerSecond: number;
  /** Share of fans who give up while waiting (close the socket, never return). */
  giveUpShare: number;
  /** Share of waiting fans who drop their socket and come back within the presence grace. */
  dropShare: number;
  /** Of admitted fans: share who hold and then leave, letting the holds lapse. */
  lapseShare: number;
  /** Of admitted fans: share who walk away while ACTIVE (socket closed, nothing more). */
  walkAwayShare: number;
  /** Of buyers: share who pay first without enough points. */
  underfundedShare: number;
  /** Of buyers: share who submit the same payment twice at once. */
  doubleSubmitShare: number;
  /** Of buyers: share who cancel one ticket shortly after paying. */
  cancelShare: number;
  /** Think time between a fan's steps while shopping (ms, uniform in [min, max]). */
  thinkMs: [number, number];
  /** Hard stop for the whole play (s after opening). */
  maxSeconds: number;
  /** Three scripted abusers (enterQueue and holdSeat hammers, a socket hog) during the first 30 s of sales. */
  abusers: boolean;
  /** Run on a local Redis Cluster (test/support/redis-cluster.sh) instead of the single Redis. */
  cluster: boolean;
  /** CPU-profile the replicas (--cpu-prof) and summarise the profiles in the report when a goal is missed. */
  profile: boolean;
  /**
   * Server timings, set as an operator would for this sale (see DEFAULT_OPTIONS for why each): the
   * rehearsal's fans shop in seconds, not minutes, so the production defaults (holds 300 s, ACTIVE
   * 900 s, idle 300 s, grace 60 s) scale down with them.
   */
  admissionIntervalMs: number;
  holdTtlSeconds: number;
  activeTtlSeconds: number;
  presenceGraceSeconds: number;
  activeIdleSeconds: number;
  price: number;
}

export const DEFAULT_OPTIONS: RehearsalOptions = {
  fans: 20_000,
  seats: 2000,
  capacity: 200,
  replicas: 2,
  seed: 7,
  workers: 3,
  preOpenSeconds: 6,
  prequeueShare: 0.1,
  arrivalsPerSecond: 2000,
  giveUpShare: 0.3,
  dropShare: 0.05,
  lapseShare: 0.1,
  walkAwayShare: 0.03,
  underfundedShare: 0.2,
  doubleSubmitShare: 0.15,
  cancelShare: 0.05,
  thinkMs: [200, 1200],
  maxSeconds: 180,
  abusers: true,
  cluster: false,
  profile: true,
  // Production's tick. Each tick pushes every waiting fan its new position, so at 20,000 fans a
  // faster tick mostly buys pushes the two shared cores cannot afford.
  admissionIntervalMs: 1000,
  // Above the slowest checkout seen at 20,000 fans on 2 shared cores (hold → charge → pay: at 10 s,
  // 146 payments found their holds gone), short enough that a lapsed hold does not stall the end.
  holdTtlSeconds: 15,
  // Far above any fan's shopping (seconds): it only ends slots nobody frees.
  activeTtlSeconds: 30,
  // A subscribed fan's presence never lapses (its replica holds it and beats every grace/6); the
  // grace runs from the fan's last socket closing, or from its replica's last beat once it has been
  // silent for a whole grace. So it has to cover a dropped fan reconnecting (a socket took up to ~20 s to open in the
  // 20,000-fan burst) against admitting fans who gave up (each keeps a slot ACTIVE_IDLE_SECONDS).
  presenceGraceSeconds: 10,
  // Likewise counted from an ACTIVE fan's last socket closing, so it is only how long a fan who walks
  // away (3%), or gave up just before its turn, keeps the slot.
  activeIdleSeconds: 2,
  price: 100,
};

/** mulberry32: small, fast, good enough for a behaviour mix. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Behaviour = 'buy' | 'lapse' | 'walkAway';

export interface FanPlan {
  index: number;
  userId: number;
  token: string;
  /** The client address this fan presents (X-Forwarded-For). */
  ip: string;
  /** Which replica it talks to. */
  replica: number;
  /** Arrival, ms relative to salesOpenAt (negative: pre-queue). */
  arriveAt: number;
  /** Gives up after waiting this long (ms), or never. */
  patienceMs: number | null;
  /** Drops the socket after this long waiting (ms) and reconnects 1-2 s later, or never. */
  dropAfterMs: number | null;
  behaviour: Behaviour;
  seats: number;
  underfunded: boolean;
  doubleSubmit: boolean;
  cancel: boolean;
  /** Seed of the fan's own PRNG (seat picks, think times). */
  seed: number;
}

/** The fan's address: 10.x.y.z, unique per fan. */
function fanIp(index: number): string {
  const n = index + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export function planFans(options: RehearsalOptions, users: { id: number; token: string }[]): FanPlan[] {
  const random = prng(options.seed);
  const preMs = options.preOpenSeconds * 1000;
  // Exponential delays with mean m put n/m arrivals a second at the peak (the opening): m = n / peak.
  const meanDelayMs = (1000 * users.length * (1 - options.prequeueShare)) / options.arrivalsPerSecond;
  return users.map((user, index) => {
    const prequeue = random() < options.prequeueShare;
    // Pre-queue fans arrive over the window (after the first second, before the last 0.5 s); the
    // rest in a burst with exponentially distributed delays (many at once, a tail after).
    const arriveAt = prequeue ? -preMs + 1000 + random() * (preMs - 1500) : Math.min(-Math.log(1 - random()) * meanDelayMs, 5 * meanDelayMs);
    const givesUp = random() < options.giveUpShare;
    const drops = !givesUp && random() < options.dropShare;
    const kind = random();
    const behaviour: Behaviour = kind < options.walkAwayShare ? 'walkAway' : kind < options.walkAwayShare + options.lapseShare ? 'lapse' : 'buy';
    return {
      index,
      userId: user.id,
      token: user.token,
      ip: fanIp(index),
      replica: index % options.replicas,
      arriveAt: Math.round(arriveAt),
      patienceMs: givesUp ? Math.round(500 + random() * 8000) : null,
      dropAfterMs: drops ? Math.round(300 + random() * 2000) : null,
      behaviour,
      seats: 1 + Math.floor(random() * 4),
      underfunded: random() < options.underfundedShare,
      doubleSubmit: random() < options.doubleSubmitShare,
      cancel: random() < options.cancelShare,
      seed: Math.floor(random() * 2 ** 31),
    };
  });
}

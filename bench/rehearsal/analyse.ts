/** What the rehearsal's logs and samples say: fairness, slot use, sell-out, experience. */
import type { FanLog } from './fan';
import type { Integrity } from './integrity';
import { countBelow } from '../../src/queue/departures';
import { countInversions } from './order';
import type { FanPlan, RehearsalOptions } from './plan';

export interface OpStats {
  op: string;
  count: number;
  p50: number;
  p99: number;
  errors: Record<string, number>;
}

export interface Analysis {
  fans: number;
  outcomes: Record<string, number>;
  fairness: {
    postArrivalsPresent: number;
    postAdmitted: number;
    /** Pairs (a, b): a finished entering before b started, both present, b admitted at an earlier tick than a (or a never). */
    inversions: number;
    comparablePairs: number;
    /** The same two counts leaving out fans the line dropped while present: what the order itself did. */
    inversionsWithoutDropped: number;
    overtakenWithoutDropped: number;
    prequeuePresent: number;
    prequeueAdmitted: number;
    /** Pairs (pre-queue fan, later arrival) where the later arrival was admitted first. */
    prequeueOvertaken: number;
    /** Spearman's rho between pre-queue entry order and the drawn order (goal ≈ 0). */
    drawCorrelation: number;
    drawSample: number;
    /** Fans the line dropped (NONE) while they were present. */
    lostPlace: number;
    /** Of lostPlace, fans who had dropped their socket and were reconnecting. */
    lostWhileReconnecting: number;
    /** Fans pushed a NONE while waiting whom the line, asked, still had. */
    staleNone: number;
  };
  slots: {
    slotSeconds: number;
    presentShare: number;
    /** Slot-seconds held by absent fans, by the fan's outcome. */
    absentByOutcome: Record<string, number>;
    /** Slot-seconds held by present fans, by what they went on to do. */
    presentByOutcome: Record<string, number>;
    /** Share of the capacity ACTIVE while fans waited and seats were free (from the opening until every seat was taken). */
    fill: number;
    /** Seconds from a fan walking away while ACTIVE to leaving the active set. */
    forgetActive: number[];
    /** Seconds from a waiting fan giving up to leaving the line. */
    forgetWaiting: number[];
  };
  sellOut: {
    soldOutAfter: number | null;
    /** First sample with no seat free (all sold or held). */
    allTakenAfter: number | null;
    idealSeconds: number;
    ratio: number;
    buyers: number;
    meanShoppingSeconds: number;
    seatsPerBuyer: number;
    lapsedSeats: number;
    lapsedResold: number;
    lapsedResaleSeconds: number[];
    cancelledSeats: number;
    cancelledResold: number;
    cancelledResaleSeconds: number[];
    soldOutDelivered: number;
    /** Present fans still waiting at the end with no SOLD_OUT (goal 0 when sold out). */
    soldOutMissed: number;
    soldOutLag: number[];
  };
  experience: {
    ops: OpStats[];
    /** Pushes an admission tick caused: received − that tick's message. */
    pushLagMs: { count: number; p50: number; p99: number; max: number };
    /** Pushes of a fan's own change (enter, leave, pay): received − the message naming the fan. */
    ownPushLagMs: { count: number; p50: number; p99: number; max: number };
    internalErrors: number;
    rateLimitedHonest: number;
    doubleSubmits: number;
    doubleSubmitsSame: number;
  };
}

/** Max and min without spreading (a spread of 100k+ values overflows the stack). */
export function maxOf(values: number[]): number {
  let out = -Infinity;
  for (const v of values) if (v > out) out = v;
  return out;
}

export function minOf(values: number[]): number {
  let out = Infinity;
  for (const v of values) if (v < out) out = v;
  return out;
}

export function percentile(values: number[], p: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] as number;
}

/** Average ranks (ties share their mean rank). */
function ranks(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

function spearman(x: number[], y: number[]): number {
  if (x.length < 3) return NaN;
  const rx = ranks(x);
  const ry = ranks(y);
  const mean = (rx.length + 1) / 2;
  let num = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < rx.length; i++) {
    const a = rx[i]! - mean;
    const b = ry[i]! - mean;
    num += a * b;
    dx += a * a;
    dy += b * b;
  }
  return num / Math.sqrt(dx * dy);
}

/** Latest of these sorted times at or before t (binary search). */
function tickBefore(ticks: number[], t: number): number | undefined {
  let lo = 0;
  let hi = ticks.length - 1;
  let found: number | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ticks[mid]! <= t) {
      found = ticks[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * How full the ACTIVE slots were while they could have been: fans waiting, seats free, sales open.
 * Admission takes no more fans than seats are left, so a slot counts as fillable only while a seat
 * is left for it: the target is the capacity or the fans ACTIVE plus the seats left, whichever is
 * less. A gap is a slot freed (paid, left, dropped) and not refilled before the next tick.
 */
function slotFill(run: RunData): number {
  const open = run.samples.filter((sample) => sample.t > 0 && sample.waiting > 0 && sample.seatsLeft > 0 && !sample.soldOut);
  if (open.length === 0) return NaN;
  const fillable = (sample: RunData['samples'][number]) => Math.min(run.options.capacity, sample.active + sample.seatsLeft);
  return open.reduce((sum, sample) => sum + Math.min(1, sample.active / fillable(sample)), 0) / open.length;
}

/**
 * Each push (after a subscription's first status) with what caused it: the latest message before it,
 * an admission tick or one naming this fan's own change. A fan's own change is told at once, between
 * ticks, so timed from the tick before it, it read as up to a whole interval of lag.
 */
export function pushCauses(run: Pick<RunData, 'logs' | 'ticks' | 'ownChanges'>): { tickLags: [tick: number, lag: number][]; ownLags: number[] } {
  const ticks = [...run.ticks].sort((a, b) => a - b);
  const tickLags: [number, number][] = [];
  const ownLags: number[] = [];
  for (const log of run.logs) {
    const own = [...(run.ownChanges.get(log.userId) ?? [])].sort((a, b) => a - b);
    for (const t of log.pushes) {
      const tick = tickBefore(ticks, t);
      const change = tickBefore(own, t);
      if (change !== undefined && (tick === undefined || change > tick)) ownLags.push(t - change);
      else if (tick !== undefined) tickLags.push([tick, t - tick]);
    }
  }
  return { tickLags, ownLags };
}

/** What a rehearsal recorded, as far as the analysis needs it. */
export interface RunData {
  options: RehearsalOptions;
  openAt: number;
  samples: { t: number; soldOut: boolean; seatsLeft: number; waiting: number; active: number }[];
  /** Wall-clock ms of each admission tick message seen on the queue-ticks channel. */
  ticks: number[];
  /** user id → wall-clock ms of each message naming the fan's own change (enter, leave, pay) on that channel. */
  ownChanges: Map<number, number[]>;
  /** user id → sample times (ms wall clock) at which the fan held an ACTIVE slot. */
  activeSamples: Map<number, number[]>;
  sampleIntervalMs: number;
  /** user id → last wall-clock ms the fan was seen in `wait`. */
  lastInWait: Map<number, number>;
  logs: FanLog[];
  plans: FanPlan[];
  integrity: Integrity;
}

export function analyse(run: RunData): Analysis {
  const { logs, options } = run;
  const byUser = new Map(logs.map((log) => [log.userId, log]));
  const outcomes: Record<string, number> = {};
  for (const log of logs) outcomes[log.outcome] = (outcomes[log.outcome] ?? 0) + 1;

  // ---- fairness ----
  const present = (log: FanLog) => log.gaveUpAt === undefined && log.enterState !== '' && log.enterState !== 'SOLD_OUT';
  const admission = (log: FanLog) => log.admittedAt ?? Infinity;
  const post = logs.filter((log) => present(log) && log.enterState === 'WAITING');
  const { comparable, inversions, inversionsWithoutDropped } = countInversions(
    post.map((log) => ({ enterSentAt: log.enterSentAt, enterDoneAt: log.enterDoneAt, admittedAt: admission(log), dropped: log.lostPlaceAt !== undefined })),
  );
  const pre = logs.filter((log) => present(log) && log.enterState === 'PREQUEUE');
  const postAdmissions = post.map(admission).filter(Number.isFinite).sort((a, b) => a - b);
  let overtaken = 0;
  let overtakenWithoutDropped = 0;
  for (const q of pre) {
    const n = countBelow(postAdmissions, admission(q));
    overtaken += n;
    if (q.lostPlaceAt === undefined) overtakenWithoutDropped += n;
  }
  // The draw: admitted at the opening tick (never saw a position) first, then by first position.
  const openingTick = minOf(pre.map(admission));
  const drawn = pre.filter((log) => log.drawPosition !== undefined || admission(log) === openingTick);
  const drawCorrelation = spearman(
    drawn.map((log) => log.enterDoneAt),
    drawn.map((log) => (log.drawPosition === undefined ? 0 : log.drawPosition)),
  );

  // ---- slot use ----
  let slotSamples = 0;
  let presentSamples = 0;
  const absentByOutcome: Record<string, number> = {};
  const presentByOutcome: Record<string, number> = {};
  const forgetActive: number[] = [];
  const sampleSeconds = run.sampleIntervalMs / 1000;
  for (const [userId, times] of run.activeSamples) {
    const log = byUser.get(userId);
    for (const t of times) {
      slotSamples++;
      const byOutcome = !log || log.absentFrom === undefined || t < log.absentFrom ? presentByOutcome : absentByOutcome;
      if (byOutcome === presentByOutcome) presentSamples++;
      const outcome = log?.outcome ?? 'unknown';
      byOutcome[outcome] = (byOutcome[outcome] ?? 0) + sampleSeconds;
    }
    if (log?.outcome === 'walked away' && log.absentFrom !== undefined) forgetActive.push((maxOf(times) - log.absentFrom) / 1000);
  }
  const forgetWaiting: number[] = [];
  for (const log of logs) {
    if (log.gaveUpAt === undefined) continue;
    const last = run.lastInWait.get(log.userId);
    forgetWaiting.push(last === undefined || last < log.gaveUpAt ? 0 : (last - log.gaveUpAt) / 1000);
  }

  // ---- sell-out ----
  const allTaken = run.samples.find((sample) => sample.t > 0 && sample.seatsLeft === 0);
  const firstSoldOutSample = run.samples.find((sample) => sample.soldOut);
  const soldOutPushes = logs.map((log) => log.soldOutAt).filter((t): t is number => t !== undefined);
  const soldOutCandidates = [...(firstSoldOutSample ? [firstSoldOutSample.t] : []), ...(soldOutPushes.length ? [minOf(soldOutPushes) - run.openAt] : [])];
  const soldOutAfter = soldOutCandidates.length ? minOf(soldOutCandidates) / 1000 : null;
  const buyers = logs.filter((log) => log.paidAt !== undefined && log.admittedAt !== undefined);
  const meanShopping = buyers.reduce((sum, log) => sum + (log.paidAt! - log.admittedAt!), 0) / Math.max(1, buyers.length) / 1000;
  const seatsPerBuyer = buyers.reduce((sum, log) => sum + log.seatsBought + log.cancelled.length, 0) / Math.max(1, buyers.length);
  // Every slot busy with a buyer who shops as long as the measured mean: seats ÷ (capacity × seats per buyer ÷ shopping time).
  const idealSeconds = (run.integrity.seats * meanShopping) / (options.capacity * Math.max(seatsPerBuyer, 1e-9));
  const confirmedBy = new Map<string, number>();
  for (const r of run.integrity.reservations) if (r.confirmed) confirmedBy.set(r.seatId, r.createdAt);
  const lapsed = logs.flatMap((log) => log.lapsed);
  const lapsedResale = lapsed.filter((h) => confirmedBy.has(h.seatId)).map((h) => Math.max(0, confirmedBy.get(h.seatId)! - h.expiresAt / 1000));
  const cancelled = logs.flatMap((log) => log.cancelled);
  const cancelledResale = cancelled.filter((c) => confirmedBy.has(c.seatId)).map((c) => Math.max(0, confirmedBy.get(c.seatId)! - c.at / 1000));
  const soldOutAt = soldOutAfter === null ? null : run.openAt + soldOutAfter * 1000;
  // Lag only for fans who were in line at the sell-out (later ones are told SOLD_OUT on entering).
  const soldOutLag = soldOutAt === null ? [] : logs.filter((log) => log.soldOutAt !== undefined && log.enterDoneAt < soldOutAt).map((log) => (log.soldOutAt! - soldOutAt) / 1000);
  const soldOutMissed = logs.filter((log) => log.outcome === 'stopped waiting').length;

  // ---- experience ----
  const byOp = new Map<string, { durations: number[]; errors: Record<string, number> }>();
  let internalErrors = 0;
  let rateLimited = 0;
  for (const log of logs) {
    for (const [op, , duration, code] of log.ops) {
      const entry = byOp.get(op) ?? { durations: [], errors: {} };
      entry.durations.push(duration);
      if (code) entry.errors[code] = (entry.errors[code] ?? 0) + 1;
      if (code === 'INTERNAL_SERVER_ERROR') internalErrors++;
      if (code === 'RATE_LIMITED') rateLimited++;
      byOp.set(op, entry);
    }
  }
  const ops = [...byOp].map(([op, { durations, errors }]) => ({ op, count: durations.length, p50: percentile(durations, 50), p99: percentile(durations, 99), errors }));
  const { tickLags, ownLags } = pushCauses(run);
  const lags = tickLags.map(([, lag]) => lag);
  const doubleSubmits = run.plans.filter((plan) => plan.doubleSubmit && byUser.get(plan.userId)?.doubleSubmitSame !== undefined).length;

  return {
    fans: logs.length,
    outcomes,
    fairness: {
      postArrivalsPresent: post.length,
      postAdmitted: post.filter((log) => log.admittedAt !== undefined).length,
      inversions,
      comparablePairs: comparable,
      inversionsWithoutDropped,
      overtakenWithoutDropped,
      prequeuePresent: pre.length,
      prequeueAdmitted: pre.filter((log) => log.admittedAt !== undefined).length,
      prequeueOvertaken: overtaken,
      drawCorrelation,
      drawSample: drawn.length,
      lostPlace: logs.filter((log) => log.lostPlaceAt !== undefined).length,
      lostWhileReconnecting: logs.filter((log) => log.lostPlaceAt !== undefined && log.dropped).length,
      staleNone: logs.filter((log) => (log.staleNone ?? 0) > 0).length,
    },
    slots: { slotSeconds: slotSamples * sampleSeconds, presentShare: slotSamples ? presentSamples / slotSamples : NaN, absentByOutcome, presentByOutcome, fill: slotFill(run), forgetActive, forgetWaiting },
    sellOut: {
      soldOutAfter,
      allTakenAfter: allTaken ? allTaken.t / 1000 : null,
      idealSeconds,
      ratio: soldOutAfter === null ? NaN : soldOutAfter / idealSeconds,
      buyers: buyers.length,
      meanShoppingSeconds: meanShopping,
      seatsPerBuyer,
      lapsedSeats: lapsed.length,
      lapsedResold: lapsedResale.length,
      lapsedResaleSeconds: lapsedResale,
      cancelledSeats: cancelled.length,
      cancelledResold: cancelledResale.length,
      cancelledResaleSeconds: cancelledResale,
      soldOutDelivered: soldOutPushes.length,
      soldOutMissed,
      soldOutLag,
    },
    experience: {
      ops,
      pushLagMs: { count: lags.length, p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.length ? maxOf(lags) : NaN },
      ownPushLagMs: { count: ownLags.length, p50: percentile(ownLags, 50), p99: percentile(ownLags, 99), max: ownLags.length ? maxOf(ownLags) : NaN },
      internalErrors,
      rateLimitedHonest: rateLimited,
      doubleSubmits,
      doubleSubmitsSame: run.plans.filter((plan) => byUser.get(plan.userId)?.doubleSubmitSame === true).length,
    },
  };
}

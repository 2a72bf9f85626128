import { QueueState, type QueueStatus } from './queue-state';

/** What a fan found absent by the very call that reads their place has just lost (see forgetIfAbsent). */
export type Lapse = 'waiting' | 'active';

/** One user's place as the status script reports it. */
export type Place =
  | { state: QueueState.NONE; lapsed?: Lapse }
  | { state: QueueState.SOLD_OUT }
  | { state: QueueState.PREQUEUE }
  | { state: QueueState.WAITING; position: number }
  | { state: QueueState.ACTIVE; activeUntil: number };

/** Concert-wide figures from the same script call. */
export interface QueueFigures {
  waiting: number;
  active: number;
  /** Admissions per minute measured over the last minute; -1 before the first two ticks. */
  ratePerMinute: number;
  /** maxActiveUsers as of the last tick (or as the first entrant found it); -1 before anyone entered. */
  capacity: number;
  /** When sales open (ms) while they are closed; -1 once open. */
  salesOpensAt: number;
  /** Seats left as of the last tick; -1 when unknown (no recent tick): the caller computes it. */
  seatsLeft: number;
  /** Whether the line is closed because every seat is reserved. */
  soldOut: boolean;
  /** The departures log these figures belong to: drawn anew whenever the log starts over. */
  logEpoch: number;
  /** The departures log's position (its last entry's number) when the figures were read. */
  logSeq: number;
  /** That last entry's stamp ('' before any): see Departures.before. */
  logAt: string;
}

/** Figures in front of the per-user entries of a status reply. */
const FIGURES = 10;

function decodeFigures(reply: readonly unknown[]): QueueFigures {
  const [waiting = 0, active = 0, ratePerMinute = -1, capacity = -1, salesOpensAt = -1, seatsLeft = -1, soldOut = 0, logEpoch = 0, logSeq = 0] = reply.slice(0, FIGURES - 1) as number[];
  const logAt = reply[FIGURES - 1];
  return { waiting, active, ratePerMinute, capacity, salesOpensAt, seatsLeft, soldOut: soldOut === 1, logEpoch, logSeq, logAt: typeof logAt === 'string' ? logAt : '' };
}

function decodePlace(state: unknown, value: number): Place {
  if (state === 1) return { state: QueueState.WAITING, position: value };
  if (state === 2) return { state: QueueState.ACTIVE, activeUntil: value };
  if (state === 3) return { state: QueueState.PREQUEUE };
  if (state === 4) return { state: QueueState.SOLD_OUT };
  if (state === 5) return { state: QueueState.NONE, lapsed: 'waiting' };
  if (state === 6) return { state: QueueState.NONE, lapsed: 'active' };
  return { state: QueueState.NONE };
}

/** forgetIfAbsent's verdict as a number (0 kept, 1 left the line, 2 lost the ACTIVE slot), as QUEUE_ENTER ends with it. */
export function lapseOf(verdict: unknown): Lapse | undefined {
  return verdict === 1 ? 'waiting' : verdict === 2 ? 'active' : undefined;
}

/**
 * Decodes the status script's reply: the figures (waiting, active, ratePerMinute, capacity,
 * salesOpensAt, seatsLeft, soldOut, logEpoch, logSeq, logAt), then (state, value) per user.
 */
export function decodeStatusReply(reply: number[]): { figures: QueueFigures; places: Place[] } {
  const places: Place[] = [];
  for (let i = FIGURES; i < reply.length; i += 2) places.push(decodePlace(reply[i], reply[i + 1] ?? 0));
  return { figures: decodeFigures(reply), places };
}

/** A place with the fan's score in the line (NaN when not in it), from which later positions follow. */
export type ScoredPlace = Place & { score: number };

/** Decodes QUEUE_WATCH's reply: the figures, then (state, value, score) per user. */
export function decodeWatchReply(reply: (number | string)[]): { figures: QueueFigures; places: ScoredPlace[]; forgotten: boolean } {
  const places: ScoredPlace[] = [];
  // The last item says whether the replica had been forgotten (see QUEUE_WATCH).
  for (let i = FIGURES; i < reply.length - 1; i += 3) {
    const score = reply[i + 2];
    places.push({ ...decodePlace(reply[i], Number(reply[i + 1] ?? 0)), score: score === '' || score === undefined ? Number.NaN : Number(score) });
  }
  return { figures: decodeFigures(reply), places, forgotten: reply.at(-1) === 1 };
}

/** Decodes QUEUE_FEED's reply: the figures, then the log entries after the asked position, or null when too far behind. */
export function decodeFeedReply(reply: readonly unknown[]): { figures: QueueFigures; entries: [string, string[]][] | null } {
  const entries = reply[FIGURES];
  return { figures: decodeFigures(reply), entries: Array.isArray(entries) ? (entries as [string, string[]][]) : null };
}

/** At most this many are admitted per concert per tick, so one script never blocks Redis for long. */
export const MAX_ADMITTED_PER_TICK = 5000;

/** What the pace of a line is judged by when none is measured yet. */
export interface WaitPace {
  activeTtlSeconds: number;
  admissionIntervalMs: number;
}

/**
 * Estimated wait. The ACTIVE slots free now (while seats are left) go to the first in line over the
 * next ticks (MAX_ADMITTED_PER_TICK at each); those behind them wait their place among the rest ÷
 * the admission rate measured over the last minute. Before a rate is measured (or while nobody is
 * being admitted) we fall back to the slowest plausible pace: every ACTIVE slot frees only when its
 * ACTIVE_TTL runs out, i.e. capacity per ACTIVE_TTL_SECONDS. The first entrant stores the capacity,
 * so a WAITING fan always has a figure; `knownCapacity` (the concert's as this process last read it)
 * covers a reply whose stats Redis has lost.
 */
function estimateWaitSeconds(position: number, figures: QueueFigures, pace: WaitPace, knownCapacity: number): number {
  const capacity = figures.capacity > 0 ? figures.capacity : Math.max(knownCapacity, 1);
  const freeSlots = figures.seatsLeft > 0 ? Math.max(0, capacity - figures.active) : 0;
  if (position <= freeSlots) return Math.ceil((Math.ceil(position / MAX_ADMITTED_PER_TICK) * pace.admissionIntervalMs) / 1000);
  const behind = position - freeSlots;
  if (figures.ratePerMinute > 0) return Math.ceil((behind * 60) / figures.ratePerMinute);
  return Math.ceil((behind * pace.activeTtlSeconds) / capacity);
}

/**
 * Out of line, SOLD_OUT while the concert is sold out (as the status script says), NONE otherwise: a
 * place read while it was (SOLD_OUT) is pushed again with the figures once it sells again, and is NONE
 * by then.
 */
function outOfLineState(place: Place, figures: QueueFigures): QueueState {
  if (place.state !== QueueState.NONE && place.state !== QueueState.SOLD_OUT) return place.state;
  return figures.soldOut ? QueueState.SOLD_OUT : QueueState.NONE;
}

/** The status; figures.seatsLeft must be known by now (the caller resolved -1). */
export function toQueueStatus(concertId: number, place: Place, figures: QueueFigures, pace: WaitPace, knownCapacity: number): QueueStatus {
  return {
    concertId,
    state: outOfLineState(place, figures),
    position: place.state === QueueState.WAITING ? place.position : null,
    waiting: figures.waiting,
    active: figures.active,
    estimatedWaitSeconds: place.state === QueueState.WAITING ? estimateWaitSeconds(place.position, figures, pace, knownCapacity) : null,
    activeUntil: place.state === QueueState.ACTIVE ? new Date(place.activeUntil) : null,
    salesOpenAt: place.state === QueueState.PREQUEUE && figures.salesOpensAt >= 0 ? new Date(figures.salesOpensAt) : null,
    seatsLeft: Math.max(0, figures.seatsLeft),
  };
}

import { QueueState, type QueueStatus } from './queue-state';

/** One user's place as the status script reports it. */
export type Place =
  | { state: QueueState.NONE | QueueState.SOLD_OUT }
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
}

/** Figures in front of the per-user entries of a status reply. */
const FIGURES = 7;

/**
 * Decodes the status script's reply: seven figures (waiting, active, ratePerMinute, capacity,
 * salesOpensAt, seatsLeft, soldOut), then (state, value) per user.
 */
export function decodeStatusReply(reply: number[]): { figures: QueueFigures; places: Place[] } {
  const [waiting = 0, active = 0, ratePerMinute = -1, capacity = -1, salesOpensAt = -1, seatsLeft = -1, soldOut = 0] = reply;
  const places: Place[] = [];
  for (let i = FIGURES; i < reply.length; i += 2) {
    const state = reply[i];
    const value = reply[i + 1] ?? 0;
    if (state === 1) places.push({ state: QueueState.WAITING, position: value });
    else if (state === 2) places.push({ state: QueueState.ACTIVE, activeUntil: value });
    else if (state === 3) places.push({ state: QueueState.PREQUEUE });
    else if (state === 4) places.push({ state: QueueState.SOLD_OUT });
    else places.push({ state: QueueState.NONE });
  }
  return { figures: { waiting, active, ratePerMinute, capacity, salesOpensAt, seatsLeft, soldOut: soldOut === 1 }, places };
}

/**
 * Estimated wait: position ÷ the admission rate measured over the last minute. Before a rate is
 * measured (or while nobody is being admitted) we fall back to the slowest plausible pace: every
 * ACTIVE slot frees only when its ACTIVE_TTL runs out, i.e. capacity per ACTIVE_TTL_SECONDS. The
 * first entrant stores the capacity, so a WAITING fan always has a figure; `knownCapacity` (the
 * concert's as this process last read it) covers a reply whose stats Redis has lost.
 */
function estimateWaitSeconds(position: number, figures: QueueFigures, activeTtlSeconds: number, knownCapacity: number): number {
  if (figures.ratePerMinute > 0) return Math.ceil((position * 60) / figures.ratePerMinute);
  const capacity = figures.capacity > 0 ? figures.capacity : Math.max(knownCapacity, 1);
  return Math.ceil((position * activeTtlSeconds) / capacity);
}

/** The status; figures.seatsLeft must be known by now (the caller resolved -1). */
export function toQueueStatus(concertId: number, place: Place, figures: QueueFigures, activeTtlSeconds: number, knownCapacity: number): QueueStatus {
  return {
    concertId,
    state: place.state,
    position: place.state === QueueState.WAITING ? place.position : null,
    waiting: figures.waiting,
    active: figures.active,
    estimatedWaitSeconds: place.state === QueueState.WAITING ? estimateWaitSeconds(place.position, figures, activeTtlSeconds, knownCapacity) : null,
    activeUntil: place.state === QueueState.ACTIVE ? new Date(place.activeUntil) : null,
    salesOpenAt: place.state === QueueState.PREQUEUE && figures.salesOpensAt >= 0 ? new Date(figures.salesOpensAt) : null,
    seatsLeft: Math.max(0, figures.seatsLeft),
  };
}

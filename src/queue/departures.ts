import { QueueState } from './queue-state';
import type { ScoredPlace } from './queue-status';

/**
 * One entry of a concert's departures log: who left the line or an ACTIVE slot in one step (a tick,
 * a leave, the end of a slot). A fan's rank only ever changes by those who leave ahead of them
 * (everyone who enters after opening enters behind everyone), so a place read at log position n
 * plus the entries after n gives the exact place now, without asking Redis per fan.
 */
export interface Departures {
  /** The entry's number in the log. */
  seq: number;
  /** Scores of everyone who left the line in this entry (admitted or not), ascending. */
  scores: number[];
  /** Admitted users. */
  admitted: Set<number>;
  /** activeUntil of those admitted. */
  activeUntil: number;
  /** Users who left the line without being admitted (dropped as absent, or left). */
  leftLine: Set<number>;
  /** Users whose ACTIVE slot ended (expired, idle, left, paid). */
  slotEnded: Set<number>;
  /** Sales opened: places in the pre-queue become positions (unknown here: followers read them anew). */
  opened: boolean;
  /** The line was emptied (sold out). */
  lineEmptied: boolean;
  /**
   * The stamp of the entry before it as the log had it when this one was written (undefined in an
   * entry of an earlier version): a follower that applied a different entry under the number before
   * (a failover took the log back and handed its numbers out again) reads every place anew.
   */
  before: string | undefined;
}

/** Decodes one XRANGE entry written by logDepartures (src/redis/queue-scripts.ts). */
export function decodeDepartures([id, fields]: [string, string[]]): Departures {
  const entry: Departures = {
    seq: Number(id.slice(0, id.indexOf('-'))),
    scores: [],
    admitted: new Set(),
    activeUntil: 0,
    leftLine: new Set(),
    slotEnded: new Set(),
    opened: false,
    lineEmptied: false,
    before: undefined,
  };
  let dropped: string | undefined;
  let droppedScores: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1] as string;
    switch (fields[i]) {
      case 'a':
        readScored(value, entry.admitted, entry.scores);
        break;
      case 'w':
        readScored(value, entry.leftLine, entry.scores);
        break;
      case 'd':
        dropped = value;
        break;
      case 'ds':
        droppedScores = value;
        break;
      case 'u':
        entry.activeUntil = Number(value);
        break;
      case 'x':
        for (const user of value.split(',')) entry.slotEnded.add(Number(user));
        break;
      case 'o':
        entry.opened = true;
        break;
      case 's':
        entry.lineEmptied = true;
        break;
      case 'p':
        entry.before = value;
        break;
    }
  }
  if (dropped !== undefined || droppedScores !== undefined) readDropped(id, dropped, droppedScores, entry.leftLine, entry.scores);
  entry.scores.sort((a, b) => a - b);
  return entry;
}

/**
 * "user,user" and "score,score" (the same fans, in the same order) into the users and the scores.
 * Two lists rather than "user:score" pairs: the tick joins each with one table.concat (see dropAbsent
 * in src/redis/queue-scripts.ts).
 */
function readDropped(id: string, users: string | undefined, scores: string | undefined, leftLine: Set<number>, into: number[]): void {
  const userList = users?.split(',') ?? [];
  const scoreList = scores?.split(',') ?? [];
  // A score missing or extra would shift every later position: refuse the entry rather than guess.
  if (userList.length !== scoreList.length) throw new Error(`departures entry ${id}: ${userList.length} dropped fans but ${scoreList.length} scores`);
  for (const user of userList) leftLine.add(Number(user));
  for (const score of scoreList) into.push(Number(score));
}

/** "user:score,user:score" into the users and the scores. */
function readScored(value: string, users: Set<number>, scores: number[]): void {
  for (const pair of value.split(',')) {
    const colon = pair.indexOf(':');
    users.add(Number(pair.slice(0, colon)));
    scores.push(Number(pair.slice(colon + 1)));
  }
}

/** How many of the ascending `scores` are below `score`. */
export function countBelow(scores: readonly number[], score: number): number {
  let low = 0;
  let high = scores.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((scores[middle] as number) < score) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The fan's place after the entry, given their place before it: the same object when nothing
 * changed. A WAITING fan moves up by everyone who left from ahead of them; a PREQUEUE fan has no
 * position to move (opening is read anew by the caller).
 */
export function placeAfter(place: ScoredPlace, userId: number, entry: Departures): ScoredPlace {
  switch (place.state) {
    case QueueState.WAITING:
    case QueueState.PREQUEUE: {
      if (entry.admitted.has(userId)) return { state: QueueState.ACTIVE, activeUntil: entry.activeUntil, score: Number.NaN };
      if (entry.leftLine.has(userId) || entry.lineEmptied) return { state: QueueState.NONE, score: Number.NaN };
      if (place.state === QueueState.PREQUEUE) return place;
      const ahead = countBelow(entry.scores, place.score);
      return ahead === 0 ? place : { ...place, position: place.position - ahead };
    }
    case QueueState.ACTIVE:
      return entry.slotEnded.has(userId) ? { state: QueueState.NONE, score: Number.NaN } : place;
    default:
      return place;
  }
}

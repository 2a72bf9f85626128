import type { KeyValueStore } from './storage';
import { formatDateTime, formatWait } from './time';
import { countWords, formatCount } from './numbers';

/**
 * The waiting room as a fan sees it: progress through the line, what is said about the seats, and
 * what to announce when the status changes. Pure logic, unit-tested. The states are the schema's
 * QueueState: NONE, PREQUEUE (before sales open: no position yet), WAITING, ACTIVE, SOLD_OUT.
 */

export interface QueueView {
  state: string;
  position: number | null;
  waiting: number;
  estimatedWaitSeconds: number | null;
  activeUntil: string | null;
  /** The concert's seats neither reserved nor held (may lag by one admission tick). */
  seatsLeft?: number;
  /** In the pre-queue, when sales open (ISO). */
  salesOpenAt?: string | null;
}

/**
 * What a fan is told about the seats: SOLD_OUT when every seat is reserved (the line is closed),
 * PAUSED when none is free but some are only held (holds lapse or are released, and admission
 * resumes then), LEFT otherwise. `soldOut` is the server's word (Concert.soldOut, or the SOLD_OUT
 * state); a count of 0 alone never means sold out. A count above 0 wins over it: a turn's live count
 * (a tick old at most) is newer than a read of the concert that said sold out before a cancellation
 * brought a seat back (a sale's last seat was held, so already off the count, before it sold).
 */
export type Supply = 'SOLD_OUT' | 'PAUSED' | 'LEFT';

export function seatSupply(soldOut: boolean, seatsLeft: number): Supply {
  if (seatsLeft > 0) return 'LEFT';
  return soldOut ? 'SOLD_OUT' : 'PAUSED';
}

export const SOLD_OUT_MESSAGE = 'Sold out — every seat is sold.';

/** To an ACTIVE fan: the turn goes on, with nothing left to choose. */
export const ACTIVE_SOLD_OUT_MESSAGE = `${SOLD_OUT_MESSAGE} There is nothing left to choose.`;

/** To an ACTIVE fan holding seats when the concert sells out. */
export const HOLDS_STILL_PAYABLE = 'The seats you hold are still yours to pay for.';

/**
 * To an ACTIVE fan: no seat is free, but one may come back. Not "held": the concert's sold count, read
 * apart from the pushed seatsLeft and at most every few seconds, may not yet say the last seats sold.
 */
export const ACTIVE_PAUSED_MESSAGE = 'No seat is free right now; one may come free when a hold runs out or a ticket is cancelled.';
/** To an ACTIVE fan told that no seat was free, or that the concert sold out: one is free again. */
export const ACTIVE_SEAT_BACK_MESSAGE = 'A seat is free again: choose it on the map.';

/**
 * What an ACTIVE fan hears when what is left to choose, as the page shows it, changes from `said` (what
 * they were last told) to `shown`: sold out, no seat free, or a seat free again after either. `shown`
 * is LEFT also while the fan's own holds are what is left (see Active), which is no news: a seat is
 * free again only when the concert itself has one (`concertWide` LEFT).
 */
export function activeSupplyNews(said: Supply, shown: Supply, concertWide: Supply, holding: boolean): string | undefined {
  if (shown === said) return undefined;
  if (shown === 'SOLD_OUT') return holding ? `${ACTIVE_SOLD_OUT_MESSAGE} ${HOLDS_STILL_PAYABLE}` : ACTIVE_SOLD_OUT_MESSAGE;
  if (shown === 'PAUSED') return ACTIVE_PAUSED_MESSAGE;
  return concertWide === 'LEFT' ? ACTIVE_SEAT_BACK_MESSAGE : undefined;
}

/** Said to a fan the sell-out took out of the line (or pre-queue), not to one who was never in it. */
export const SOLD_OUT_LEFT_LINE_MESSAGE = `${SOLD_OUT_MESSAGE} You have left the line.`;
/** Said to a fan out of a sold-out line once a cancelled ticket brings a seat back (no place was lost). */
export const SEAT_BACK_MESSAGE = 'A ticket was cancelled and its seat came back on sale: enter the waiting room to try for it.';
export const PAUSED_MESSAGE = 'All seats are held right now; admission resumes when one comes back.';
/**
 * Said to a fan whose place in line (PREQUEUE or WAITING) went without their leaving. Most often the
 * server saw no sign of them for its grace, but the line's store may have lost it too, so the fact
 * comes first and the rule after, as a rule, not as the fan's fault.
 */
export const PLACE_LOST_MESSAGE = 'Your place in line was lost. Enter the waiting room to queue again. (A place is kept while this page stays open and online.)';
/** Said to a fan whose turn (ACTIVE) ended without their leaving or paying in this tab: its time ran out, or it was used elsewhere. */
export const TURN_ENDED_MESSAGE = 'Your turn has ended: you are no longer in the waiting room.';
export const PREQUEUE_MESSAGE = 'You are in the pre-queue. When sales open, everyone who arrived before the opening gets a random place in line.';

/** Whether the fan waits for a turn: PREQUEUE or WAITING (not yet admitted). */
export function waitsInLine(state: string): boolean {
  return state === 'PREQUEUE' || state === 'WAITING';
}

/** Whether the fan has a place to lose: waiting for a turn, or ACTIVE. NONE and SOLD_OUT are out of line. */
export function inLine(state: string): boolean {
  return waitsInLine(state) || state === 'ACTIVE';
}

/**
 * How long after the fan asked to leave a line a status still in it says the leave did not take effect:
 * a status sent before the leave reached the server comes within a tick or two.
 */
export const LEAVE_SETTLE_MS = 10_000;

/**
 * A place handed down from a closed tab (LineMemory.adoptHandDown) found gone: this browser did not see
 * how it ended (the grace passing, or a leave on another device), so the words claim neither.
 */
export const PLACE_ENDED_AWAY_MESSAGE =
  'You are no longer in line for this concert: your place ended while this browser had no page of it open. Enter the waiting room to queue again. (A place is kept while a page stays open and online.)';

/** What a fan out of line (NONE) is told they lost, from the state they were in (see LineMemory.lostFrom). */
export function lostWords(lostFrom: string): string {
  if (lostFrom === 'AWAY') return PLACE_ENDED_AWAY_MESSAGE;
  return lostFrom === 'ACTIVE' ? TURN_ENDED_MESSAGE : PLACE_LOST_MESSAGE;
}

/** A date that has started, beside its time: its seats are not offered any more (the show is on, or over). */
export const STARTED_WORDS = 'started: no longer on sale here';

/** A concert every date of which has started. */
export const ALL_STARTED_MESSAGE = 'Every date of this concert has started: its seats are no longer on sale here.';

/** The dates not started by `now` (epoch ms): those whose seats are offered. */
export const datesOnSale = <S extends { startsAt: string }>(schedules: readonly S[], now: number): S[] => schedules.filter((schedule) => Date.parse(schedule.startsAt) > now);

/**
 * The estimated wait as a fan in line reads it. While admission is paused (every seat held) the API
 * counts no ACTIVE slot as free, so its figure is the line's pace from when a seat comes back; but a
 * fan whom a free slot awaits (`capacity`, the concert's maxActiveUsers, less those `active`) is let
 * in at the tick after that, not minutes later.
 */
export function estimatedWaitWords(status: Pick<QueueView, 'position' | 'estimatedWaitSeconds' | 'seatsLeft'> & { active: number }, capacity: number): string {
  if (seatSupply(false, status.seatsLeft ?? 1) !== 'PAUSED' || status.estimatedWaitSeconds === null) return formatWait(status.estimatedWaitSeconds);
  const freeSlotAwaits = status.position !== null && status.position <= capacity - status.active;
  return `${freeSlotAwaits ? 'a moment' : formatWait(status.estimatedWaitSeconds)} once a seat comes back`;
}

/**
 * The concert page's name in the tab's title, the fan's place in line first: a fan waiting in another
 * tab sees their turn come in the tab strip. ("No. 12 in line · Aurora Live", "Your turn · …".)
 */
export function concertPageName(title: string, status: Pick<QueueView, 'state' | 'position'> | undefined): string {
  switch (status?.state) {
    case 'PREQUEUE':
      return `Pre-queue · ${title}`;
    case 'WAITING':
      return status.position === null ? title : `No. ${formatCount(status.position)} in line · ${title}`;
    case 'ACTIVE':
      return `Your turn · ${title}`;
    case 'SOLD_OUT':
      return `Sold out · ${title}`;
    default:
      return title;
  }
}

/** "312 seats left", "1 seat left". */
export function seatsLeftWords(seatsLeft: number): string {
  return `${countWords(seatsLeft, 'seat')} left`;
}

/**
 * Progress through the line, 0..1, from the first position the fan was seen at (`start`) to the
 * current one: position `start` → a sliver, position 1 → most of the way, ACTIVE → 1.
 */
export function lineProgress(state: string, position: number | null, start: number | null): number {
  if (state === 'ACTIVE') return 1;
  if (state !== 'WAITING' || position === null) return 0;
  const first = Math.max(start ?? position, position);
  return (first - position + 1) / (first + 1);
}

/** What this tab remembers of the fan's time in one concert's line (see LineMemory). */
interface LineRecord {
  /** The last state in line seen: PREQUEUE, WAITING or ACTIVE. */
  state: string;
  /** The furthest back position seen WAITING in this entry into the line: where the progress bar starts. */
  start: number | null;
  /** Out of line (NONE) since, without having asked: `state` is what was lost. */
  lost: boolean;
  /** The fan asked to be out of line (left, or paid, which ends the turn): the NONE that follows loses nothing. */
  leaving: boolean;
  /** When a leave (not a payment) was asked, by this page's clock: see LEAVE_SETTLE_MS. */
  leavingAt?: number;
  /** That ask is a payment on its way (`paying`): it ends the turn only if it is not refused. */
  paying?: boolean;
  /** Out of line (NONE) while that payment was on its way: a turn lost if it is refused, none if it paid. */
  outWhilePaying?: boolean;
  /** Taken from a closed tab (adoptHandDown), and not seen in line by this tab since. */
  handedDown?: boolean;
}

/** A place in line as a tab of the account last saw it, and when: for the account's next tab (LineMemory.adoptHandDown). */
type HandedDownPlace = Pick<LineRecord, 'state' | 'start'> & { at: number };

/** Whether the record is of a line the fan was last seen in: not lost, nor left by a payment's turn's end. */
const stillIn = (record: LineRecord | undefined): record is LineRecord => record !== undefined && !record.lost && !record.outWhilePaying;

/**
 * What this tab remembers of one account's places in line, per concert, under `key` in Web Storage
 * (sessionStorage: it outlasts a reload and the concert's feed, not the tab; the page forgets it at
 * log-out): the state last seen in each line and the progress bar's start. An entry into a line runs
 * from the first status in it to the next one out of it, so the start is never another entry's. A
 * NONE the fan did not ask for is kept as a place (or turn) lost until they enter again, so the page
 * can say so even to a fan who was on another page, or reloaded, when it happened. Pure, unit-tested.
 */
export class LineMemory {
  /**
   * `handDown`: where the lines the fan is in are also kept for the account's next tab (localStorage),
   * written with each change by whichever tab saw it last. A fan who closes the tab and comes back in
   * a new one after the presence grace is then told the place ended meanwhile (lostFrom: AWAY), not
   * merely that they are not in line; one who comes back in time finds the place, and the progress
   * bar, as they were.
   */
  constructor(
    private readonly storage: KeyValueStore,
    private readonly key: string,
    private readonly handDown?: { store: KeyValueStore; key: string; now: () => number },
    private readonly now: () => number = Date.now,
  ) {}

  private records(): Record<string, LineRecord> {
    return JSON.parse(this.storage.getItem(this.key) ?? '{}') as Record<string, LineRecord>;
  }

  private change(concertId: string, next: (record: LineRecord | undefined) => LineRecord | undefined): void {
    const records = this.records();
    const record = next(records[concertId]);
    if (record) records[concertId] = record;
    else delete records[concertId];
    this.storage.setItem(this.key, JSON.stringify(records));
    this.handDownPlace(concertId, record);
  }

  private handedDown(): Record<string, HandedDownPlace> {
    return JSON.parse(this.handDown?.store.getItem(this.handDown.key) ?? '{}') as Record<string, HandedDownPlace>;
  }

  /**
   * The concert's entry for the account's next tab: the place as seen now, if the fan holds it (not
   * lost, not being left or paid for); none otherwise. Other concerts' entries are other tabs' too.
   */
  private handDownPlace(concertId: string, record: LineRecord | undefined): void {
    if (!this.handDown) return;
    const places = this.handedDown();
    if (stillIn(record) && !record.leaving && !record.paying) places[concertId] = { state: record.state, start: record.start, at: this.handDown.now() };
    else delete places[concertId];
    this.handDown.store.setItem(this.handDown.key, JSON.stringify(places));
  }

  /**
   * A new tab (nothing remembered yet) takes the places handed down by the account's tabs, those seen
   * within `maxAgeMs`: the first status it sees in each line then says whether it was kept or lost.
   */
  adoptHandDown(maxAgeMs: number): void {
    if (!this.handDown || this.storage.getItem(this.key) !== null) return;
    const now = this.handDown.now();
    const records: Record<string, LineRecord> = {};
    for (const [concertId, place] of Object.entries(this.handedDown())) {
      if (now - place.at <= maxAgeMs) records[concertId] = { state: place.state, start: place.start, leaving: false, lost: false, handedDown: true };
    }
    this.storage.setItem(this.key, JSON.stringify(records));
  }

  /** A status of the fan's in the concert's line: pushed, or the answer to a request. */
  seen(concertId: string, status: Pick<QueueView, 'state' | 'position'>): void {
    this.change(concertId, (record) => {
      if (inLine(status.state)) {
        const entry: Pick<LineRecord, 'start' | 'leaving' | 'leavingAt'> = stillIn(record) ? record : { start: null, leaving: false };
        const start = status.state === 'WAITING' && status.position !== null ? Math.max(entry.start ?? 0, status.position) : entry.start;
        // Still in line well after a leave was asked: it never took effect (no answer came, or the tab
        // that asked logged out with the server away), and the place is the fan's again.
        const leaveLapsed = entry.leaving && entry.leavingAt !== undefined && this.now() - entry.leavingAt > LEAVE_SETTLE_MS;
        return { ...entry, ...(leaveLapsed && { leaving: false, leavingAt: undefined }), state: status.state, start, lost: false, handedDown: undefined };
      }
      // A place given up is forgotten, and so is one a closed line (SOLD_OUT) took: that is said as such.
      if (status.state !== 'NONE' || !record) return undefined;
      if (record.lost || record.outWhilePaying) return record;
      if (record.paying) return { ...record, outWhilePaying: true };
      return record.leaving ? undefined : { ...record, lost: true };
    });
  }

  /**
   * The fan asks to be out of the line (leaves, or pays, which ends the turn): the NONE that follows
   * is no place lost. A NONE already seen is that one: a payment's answer may come after it.
   */
  leaving(concertId: string): void {
    this.change(concertId, (record) => (stillIn(record) ? { ...record, leaving: true, leavingAt: this.now(), paying: false } : undefined));
  }

  /**
   * A payment for seats of the concert is sent, here or in another tab of the account: it ends a turn
   * (ACTIVE) unless refused, so a NONE seen meanwhile waits for its outcome (paid, or paymentFailed). A place in
   * line is kept as it is (paying for seats held from an earlier turn keeps it).
   */
  paying(concertId: string): void {
    this.change(concertId, (record) => (stillIn(record) && record.state === 'ACTIVE' ? { ...record, leaving: true, leavingAt: undefined, paying: true } : record));
  }

  /**
   * The fan paid for seats of the concert, here or in another tab. A payment sent from a turn ends it:
   * a turn this tab saw end, or is yet to see end, is no turn lost. A place in line is kept as it is,
   * and so is a turn given after the payment was sent (while waiting, or after its own turn's end).
   */
  paid(concertId: string): void {
    this.change(concertId, (record) => {
      if (record?.state !== 'ACTIVE') return record;
      if (record.lost || record.outWhilePaying) return undefined;
      return record.paying ? { ...record, leaving: true, paying: false } : record;
    });
  }

  /**
   * The payment sent did not pay: `refused` for sure, or not known to (no answer, or none in time).
   * A NONE that follows is news again; one seen meanwhile was the turn lost if the payment was
   * refused, and is left unsaid what it was if not known (that payment may have ended the turn).
   */
  paymentFailed(concertId: string, refused: boolean): void {
    this.change(concertId, (record) => {
      if (!record) return undefined;
      if (record.outWhilePaying) return refused ? { ...record, leaving: false, paying: false, outWhilePaying: false, lost: true } : record;
      return { ...record, leaving: false, paying: false };
    });
  }

  /**
   * The page was loaded again (or the session started anew): a payment sent before has no answer
   * coming here, so its outcome is unknown (see paymentFailed), in every line.
   */
  forgetPaymentsUnderWay(): void {
    for (const [concertId, record] of Object.entries(this.records())) if (record.paying) this.paymentFailed(concertId, false);
  }

  /**
   * Out of line, the state the fan lost without asking (PREQUEUE, WAITING: the place; ACTIVE: the turn,
   * which ends in any case); AWAY for a place handed down from a closed tab and found gone (how it
   * ended, this browser did not see); null if none.
   */
  lostFrom(concertId: string): string | null {
    const record = this.records()[concertId];
    if (!record?.lost) return null;
    return record.handedDown && record.state !== 'ACTIVE' ? 'AWAY' : record.state;
  }

  /** Where the progress bar starts in this entry into the line; null before a position is seen. */
  start(concertId: string): number | null {
    return this.records()[concertId]?.start ?? null;
  }

  /** The concerts whose line the fan was last seen in. */
  inLine(): string[] {
    return this.stillInLines().map(([concertId]) => concertId);
  }

  /** The places the fan holds and has not asked to give up (by leaving, or paying from a turn), with their state. */
  placesHeld(): { concertId: string; state: string }[] {
    return this.stillInLines()
      .filter(([, record]) => !record.leaving)
      .map(([concertId, record]) => ({ concertId, state: record.state }));
  }

  private stillInLines(): [string, LineRecord][] {
    return Object.entries(this.records()).filter((entry): entry is [string, LineRecord] => stillIn(entry[1]));
  }

  /** Forgets every line, in this tab and for the next: the fan logs out. */
  clear(): void {
    this.storage.removeItem(this.key);
    this.handDown?.store.removeItem(this.handDown.key);
  }
}

/**
 * What a fan logging out is asked first, from the states of the places held (placesHeld); undefined
 * when out of line. Nobody would be left to keep such a place (a presence sign, service.md) if this
 * was the fan's only page: a turn kept so would hold the next fan back for ACTIVE_IDLE_SECONDS.
 */
export function logOutQuestion(states: readonly string[]): string | undefined {
  if (states.length === 0) return undefined;
  const where = states.length > 1 ? `You are in ${states.length} lines` : states[0] === 'ACTIVE' ? 'It is your turn to choose seats' : 'You are in line';
  const kept = states.length > 1 ? 'If you keep them, each place lasts' : states[0] === 'ACTIVE' ? 'If you keep it, your turn lasts' : 'If you keep it, your place lasts';
  return `${where}. Leave ${states.length > 1 ? 'them' : 'it'} as you log out? ${kept} only while a page of yours stays open, in another tab or on another device. Any seats you hold stay held until their holds run out.`;
}

/**
 * Whether moving up from `from` to `to` is worth saying aloud: each of the last three places, 5 and 10
 * on the way there, and further back only on crossing a round number of the place's own size (…,
 * 2,000, 1,000, 900, 800 … 100, 90 … 20). With a line moving every second, saying each new place would
 * drown everything else the screen reader has to say (each of the last ten was eight sentences in six
 * seconds); the page shows every place, live.
 */
export function placeWorthSaying(from: number, to: number): boolean {
  if (to <= 3) return true;
  if (to <= 10) return (from > 10 && to <= 10) || (from > 5 && to <= 5);
  const step = 10 ** Math.floor(Math.log10(to));
  return Math.floor(from / step) !== Math.floor(to / step);
}

/** Holds are the fan's until they run out, turn or no turn (paying needs no ACTIVE). */
export const HOLDS_OUTLAST_TURN = 'Your held seats can still be paid for until their holds run out.';

export interface AnnouncementContext {
  /**
   * The fan's own payment ended their turn, so being out of line (NONE, or SOLD_OUT when they bought
   * the last seat) is no news; said, it would replace the payment's announcement (the ticket codes) in
   * the one region.
   */
  afterPayment?: boolean;
  /** The fan holds seats: out of line, they are told these can still be paid for. */
  holdingSeats?: boolean;
  /** Out of line (NONE), what the fan lost without asking (LineMemory.lostFrom): said even as the first status seen. */
  lostFrom?: string | null;
}

/**
 * One sentence for the aria-live region when the status changes, or undefined when nothing worth
 * saying changed.
 */
export function announcement(previous: QueueView | undefined, next: QueueView, context: AnnouncementContext = {}): string | undefined {
  const { afterPayment = false, holdingSeats = false, lostFrom = null } = context;
  const movedUp = previous?.state === 'WAITING' && next.state === 'WAITING' && previous.position !== null && next.position !== null && next.position < previous.position;
  if (movedUp && !placeWorthSaying(previous.position as number, next.position as number)) return announcement(previous, { ...next, position: previous.position }, context);
  // An organiser moved the opening: the countdown on screen changes, and a listener hears why.
  if (previous?.state === 'PREQUEUE' && next.state === 'PREQUEUE' && previous.salesOpenAt && next.salesOpenAt && previous.salesOpenAt !== next.salesOpenAt) {
    return `The opening has moved: sales now open on ${formatDateTime(next.salesOpenAt)}.`;
  }
  if (previous && previous.state === next.state && previous.position === next.position) {
    // Same place: only admission pausing or resuming (while waiting) is worth saying.
    if (next.state !== 'WAITING' || previous.seatsLeft === undefined || next.seatsLeft === undefined) return undefined;
    if (previous.seatsLeft > 0 && next.seatsLeft === 0) return PAUSED_MESSAGE;
    if (previous.seatsLeft === 0 && next.seatsLeft > 0) return `Seats are free again: admission resumes. ${seatsLeftWords(next.seatsLeft)}.`;
    return undefined;
  }
  switch (next.state) {
    case 'WAITING': {
      const place = `You are number ${next.position === null ? '…' : formatCount(next.position)} in line${next.position === 1 ? ': you are next' : ''}.`;
      // Unless told while waiting already (a fan who enters while nothing is free is told on entering).
      const paused = next.seatsLeft === 0 && !(previous?.state === 'WAITING' && previous.seatsLeft === 0) ? ` ${PAUSED_MESSAGE}` : '';
      return (previous?.state === 'PREQUEUE' ? `Sales are open. ${place}` : place) + paused;
    }
    case 'PREQUEUE':
      return previous?.state === 'PREQUEUE' ? undefined : PREQUEUE_MESSAGE;
    case 'SOLD_OUT':
      if (previous?.state === 'SOLD_OUT' || afterPayment) return undefined;
      return previous && waitsInLine(previous.state) ? SOLD_OUT_LEFT_LINE_MESSAGE : SOLD_OUT_MESSAGE;
    case 'ACTIVE':
      return previous?.state === 'ACTIVE' ? undefined : 'It is your turn: you can choose seats now.';
    case 'NONE': {
      if (afterPayment) return undefined;
      // Out of a closed line, NONE means it opened again: nothing was left.
      if (previous?.state === 'SOLD_OUT') return SEAT_BACK_MESSAGE;
      // A place lost is said even as the first status seen (the fan was on another page, or reloaded),
      // over what the live region said while they were in line.
      const out = lostFrom ? lostWords(lostFrom) : previous ? 'You are no longer in the waiting room.' : undefined;
      if (!out) return undefined;
      return holdingSeats ? `${out} ${HOLDS_OUTLAST_TURN}` : out;
    }
    default:
      return `Waiting room: ${next.state.toLowerCase()}.`;
  }
}

/**
 * What a fan on another page (My tickets, the list, another concert) is told of a line they are in:
 * only news that asks something of them or ends their wait (their turn, the sale sold out while they
 * waited, a place lost), as the waiting room words it; not each move up the line. Only a change this
 * page saw happen: a status first seen is no news.
 */
export function offPageNews(previous: QueueView | undefined, next: QueueView, lostFrom: string | null, holdingSeats = false): string | undefined {
  // A first status is news only as a place lost while no page saw it (a reload, or a new tab that
  // took the account's places: LineMemory.adoptHandDown); not only the concert's own page says so.
  if (!previous) return next.state === 'NONE' && lostFrom !== null ? announcement(previous, next, { lostFrom, holdingSeats }) : undefined;
  if (previous.state === next.state) return undefined;
  const news = next.state === 'ACTIVE' || (next.state === 'SOLD_OUT' && waitsInLine(previous.state)) || (next.state === 'NONE' && lostFrom !== null);
  return news ? announcement(previous, next, { lostFrom, holdingSeats }) : undefined;
}

/**
 * A turn that ended (ACTIVE, then out of line, or first seen out of a turn lost meanwhile: `lostFrom`):
 * whether the fan still holds seats there decides what is said.
 */
export const turnEnded = (previous: QueueView | undefined, next: QueueView, lostFrom: string | null = null): boolean =>
  next.state === 'NONE' && (previous?.state === 'ACTIVE' || (previous === undefined && lostFrom === 'ACTIVE'));

/**
 * What a fan is told while their status comes over HTTP instead of the live feed: the server out of
 * reach, the account's live connections all taken (the feed is not reconnecting: another tab or device
 * must close one), or a reconnection under way. An ACTIVE fan keeps a turn, not a place in line.
 */
export function overHttpWords({ unreachable, socketLimit, active, checkSeconds }: { unreachable: boolean; socketLimit: boolean; active: boolean; checkSeconds: number }): string {
  const kept = active ? 'your turn is kept' : 'your place in line is kept';
  // An ACTIVE fan's countdown runs to the turn's end, which only a page in contact gets to.
  const keptFor = `only for a short while without contact${active ? ', whatever the time left says' : ''}`;
  if (unreachable) return `The server is not answering right now. ${kept.charAt(0).toUpperCase()}${kept.slice(1)} ${keptFor}: check your connection; this page keeps trying.`;
  const checks = `this page checks ${active ? 'your turn' : 'your place'} about every ${checkSeconds} seconds`;
  if (socketLimit) return `Live updates are off in this tab while the account has too many connections open: ${checks} instead, and goes live again once one closes.`;
  return `Reconnecting… ${kept}: meanwhile ${checks}.`;
}

/**
 * A schedule's seat map: the seats read from the API, with the `seatChanged` events received since
 * that read applied on top, and the fan's own holds marked. Pure logic, unit-tested.
 */
import { remainingMs, spokenCountdown } from './time';
import { pointsWords } from './points';
import { formatCount } from './numbers';

export type SeatStatus = 'AVAILABLE' | 'HELD' | 'RESERVED';
/** What a seat looks like to this fan: its status, MINE for a seat the fan holds, HOLDING while the fan's hold of it is unanswered. */
export type SeatLook = SeatStatus | 'MINE' | 'HOLDING';

export interface SeatState {
  id: string;
  number: number;
  price: number;
  status: SeatStatus;
}

/** A seat's new status, as seatChanged pushes it. */
export type SeatChange = Pick<SeatState, 'id' | 'status'>;

/** Schedule.seatMap: three lists by seat number, the entries at index i those of seat number i + 1. */
export interface SeatLists {
  ids: readonly string[];
  prices: readonly number[];
  statuses: readonly SeatStatus[];
}

/** The seats of a map read as lists (Schedule.seatMap: a 100,000-seat map costs the server a third of Schedule.seats). */
export function seatsFromLists({ ids, prices, statuses }: SeatLists): SeatState[] {
  return ids.map((id, index) => ({ id, number: index + 1, price: prices[index] ?? 0, status: statuses[index] ?? 'AVAILABLE' }));
}

/** Where each seat is in a map as read (statuses change, places do not): a change finds its seat at once. */
export function seatPositions(seats: readonly SeatState[]): ReadonlyMap<string, number> {
  return new Map(seats.map((seat, index) => [seat.id, index]));
}

/**
 * Applies one change to the map (unknown seats are ignored: they belong to another schedule), its
 * seat found through `positions` (seatPositions of the map as read): a stadium's map has 100,000 seats.
 */
export function applySeatChange(seats: readonly SeatState[], change: SeatChange, positions: ReadonlyMap<string, number>): readonly SeatState[] {
  const index = positions.get(change.id);
  if (index === undefined || seats[index]?.id !== change.id || seats[index].status === change.status) return seats;
  const next = seats.slice();
  next[index] = { ...seats[index]!, status: change.status };
  return next;
}

export function seatLook(seat: Pick<SeatState, 'id' | 'status'>, myHeldSeatIds: ReadonlySet<string>): SeatLook {
  if (seat.status === 'HELD' && myHeldSeatIds.has(seat.id)) return 'MINE';
  return seat.status;
}

const LOOK_WORDS: Record<SeatLook, string> = { AVAILABLE: 'available', HELD: 'held by someone else', RESERVED: 'sold', MINE: 'held by you', HOLDING: 'being held for you…' };

export function seatLookWords(look: SeatLook): string {
  return LOOK_WORDS[look];
}

/**
 * Seats (IDs) whose hold this map had answered that still count as the fan's though their holds, as
 * read, do not list them: while a read of the holds is out (`holdsReading`), the seat reads HELD and
 * the holds do not have it yet. Once the read answers, or the seat reads otherwise (released, run
 * out: a HELD after that may be a rival's), it is as the holds say.
 */
export function pendingOwnSeats(answered: Iterable<string>, heldByFan: ReadonlySet<string>, statusOf: (seatId: string) => string | undefined, holdsReading: boolean): string[] {
  if (!holdsReading) return [];
  return [...answered].filter((seatId) => !heldByFan.has(seatId) && statusOf(seatId) === 'HELD');
}

/** What the fan is told when holds of theirs ran out: "Your hold on seat 4 ran out…". */
export function holdsRanOutWords(seatNumbers: readonly number[]): string {
  if (seatNumbers.length === 1) return `Your hold on ${seatList(seatNumbers)} ran out, so the seat is free for others again.`;
  return `Your holds on ${seatList(seatNumbers)} ran out, so the seats are free for others again.`;
}

/** Held seats that another tab of the account paid for (see PaidElsewhere). */
export function paidElsewhereWords(seatNumbers: readonly number[]): string {
  if (seatNumbers.length === 1) return `${capitalised(seatList(seatNumbers))} was paid for in another tab: it is yours now.`;
  return `${capitalised(seatList(seatNumbers))} were paid for in another tab: they are yours now.`;
}

/** "seat 3", "seats 3 and 4", "seats 3, 4 and 5". */
function seatList(seatNumbers: readonly number[]): string {
  const [first, ...others] = seatNumbers;
  if (others.length === 0) return `seat ${first}`;
  return `seats ${[first, ...others.slice(0, -1)].join(', ')} and ${others.at(-1)}`;
}

const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** How long after another tab said it paid a read of the holds may still be the first to show its seats gone. */
const PAID_ELSEWHERE_READ_MS = 10_000;

/**
 * Which of the fan's holds another tab of the account bought for the concert: those a read of the
 * holds shows gone while that tab was paying, or shortly after it said it paid; not those this tab
 * released or paid for itself (`settled`), nor those that ran out. Told once that tab has said it
 * paid (a payment it reports refused or unanswered bought nothing as far as this tab knows). Pure,
 * unit-tested.
 */
export class PaidElsewhere<H extends { id: string; expiresAt: string }> {
  private last: readonly H[] = [];
  private gone: H[] = [];
  private watchingUntil = 0;
  private paid = false;

  /** Another tab began paying (`true`), or its payment ended (`false`: refused or unanswered, unless it said it paid). */
  paying(on: boolean): void {
    if (on) {
      this.paid = false;
      this.watchingUntil = Infinity;
    } else if (!this.paid) {
      this.stop();
    }
  }

  /** Another tab said it paid: returns its seats as far as the holds read show them gone already. */
  paidNow(now: number): H[] {
    this.paid = true;
    this.watchingUntil = now + PAID_ELSEWHERE_READ_MS;
    return this.take();
  }

  /** A read of the holds: returns the holds it shows bought elsewhere, once that tab said it paid. */
  read(holds: readonly H[], settled: ReadonlySet<string>, now: number): H[] {
    if (now < this.watchingUntil) this.gone.push(...goneUnsettled(this.last, holds, settled).filter((hold) => Date.parse(hold.expiresAt) > now));
    this.last = holds;
    return this.paid ? this.take() : [];
  }

  private take(): H[] {
    const gone = this.gone;
    if (gone.length > 0) this.stop();
    return gone;
  }

  private stop(): void {
    this.gone = [];
    this.watchingUntil = 0;
    this.paid = false;
  }
}

/**
 * What a hold the fan just made says aloud: the map shows it by the seat's look and the cart, which a
 * screen reader does not read out (a focused button's name that changes is often left unsaid).
 */
export function heldWords(seatNumber: number, price: number, expiresAt: string, now: number): string {
  const msLeft = remainingMs(expiresAt, now);
  // To 10 seconds, rounded down once the answer's way here (up to 3 s) is allowed for: a 5-minute hold
  // answered at 4:58 is "5 minutes", one with 1:35 left "1 minute 30 seconds" (never "2 minutes").
  const within = spokenCountdown(msLeft < 10_000 ? msLeft : Math.floor((msLeft + 3_000) / 10_000) * 10_000);
  return `Seat ${seatNumber} held for you, ${pointsWords(price)}: pay within ${within}, or the hold runs out.`;
}

/**
 * The holds gone from a new read of the fan's holds (`read`, after `before`) because they ran out:
 * those whose end had come by the server's latest possible time now (`latestNow`). A page may see a
 * hold go from a read before its own clock says it ran out: its estimate of the server's time is a
 * second wide, and the holds are read again as soon as the server frees a seat of the fan's (or another
 * hold of theirs runs out). Holds the page paid for or released (`settled`) went that way, not by running out.
 */
export function holdsGoneByRunningOut<H extends { id: string; expiresAt: string }>(before: readonly H[], read: readonly H[], settled: ReadonlySet<string>, latestNow: number): H[] {
  return goneUnsettled(before, read, settled).filter((hold) => Date.parse(hold.expiresAt) <= latestNow);
}

/** The holds of `before` that `read` no longer has, but for those this tab paid for or released (`settled`). */
function goneUnsettled<H extends { id: string }>(before: readonly H[], read: readonly H[], settled: ReadonlySet<string>): H[] {
  const still = new Set(read.map((hold) => hold.id));
  return before.filter((hold) => !still.has(hold.id) && !settled.has(hold.id));
}

/** What releasing a held seat says aloud (see heldWords). */
export const releasedWords = (seatNumber: number): string => `Seat ${seatNumber} released: it is free for others again.`;

/**
 * Which live changes may be the fan's own doing on another device: a seat of the fan's (as last read)
 * sold or freed there, and the end of the turn of a fan who holds seats, which a payment elsewhere may
 * bring before the seat maps, gone with the turn, hear of its sale. The fan's other tabs in this
 * browser say what they did themselves (ui/other-tabs.ts). A seat newly HELD is never a reason: the
 * feed does not say by whom, and in a busy sale other fans' holds would have every admitted fan
 * re-read its holds and balance every few seconds. Pure, unit-tested.
 */
export class MaybeOwnChanges {
  private clock = 0;
  /** Seats the fan holds (as last read) that were sold or freed since. */
  private readonly ended = new Set<string>();
  /** When the turn of a fan holding seats ended, until a read sent after it answers. */
  private turnEndedAt: number | undefined;
  private balanceStale = false;

  /** A live change, `mine` the seats the fan holds as last read: whether a re-read is due. */
  note(change: SeatChange, mine: ReadonlySet<string>): boolean {
    if (change.status === 'HELD' || !mine.has(change.id)) return false;
    this.ended.add(change.id);
    if (change.status === 'RESERVED') this.balanceStale = true;
    return true;
  }

  /** The turn of a fan holding seats ended: their holds and balance are due. */
  turnEnded(): void {
    this.turnEndedAt = ++this.clock;
    this.balanceStale = true;
  }

  /** A read of the fan's holds goes out: give what this returns to `answered` with its answer. */
  send(): number {
    return ++this.clock;
  }

  /** The read sent at `sent` answered that the fan holds `mine`: the changes it tells about are settled. */
  answered(sent: number, mine: ReadonlySet<string>): void {
    for (const seatId of this.ended) if (!mine.has(seatId)) this.ended.delete(seatId);
    if (this.turnEndedAt !== undefined && this.turnEndedAt < sent) this.turnEndedAt = undefined;
  }

  /** Whether the holds as last read are known to be those after the turn's end (or it has not ended). */
  get readSinceTurnEnded(): boolean {
    return this.turnEndedAt === undefined;
  }

  /** What to read again now; the balance counts as read from here. */
  due(): { holds: boolean; balance: boolean } {
    const balance = this.balanceStale;
    this.balanceStale = false;
    return { holds: this.ended.size > 0 || this.turnEndedAt !== undefined, balance };
  }
}

/**
 * How many seats a seat map shows at once. A stadium's schedule has up to 100,000: shown all at once,
 * its buttons took seconds to render and froze the page at every change and key press.
 */
export const SEATS_PER_PAGE = 500;

/** One page of a seat map: where it starts and ends in the map, its free seats and the fan's own. */
export interface SeatPage {
  start: number;
  end: number;
  free: number;
  mine: number;
}

/** The map's pages of SEATS_PER_PAGE seats, each with its free seats and the fan's holds (`mine`) counted. */
export function seatPages(seats: readonly Pick<SeatState, 'id' | 'status'>[], mine: ReadonlySet<string>): SeatPage[] {
  const pages: SeatPage[] = [];
  for (let start = 0; start < seats.length; start += SEATS_PER_PAGE) {
    const end = Math.min(start + SEATS_PER_PAGE, seats.length);
    const page = { start, end, free: 0, mine: 0 };
    for (let i = start; i < end; i++) {
      const look = seatLook(seats[i]!, mine);
      if (look === 'AVAILABLE') page.free++;
      else if (look === 'MINE') page.mine++;
    }
    pages.push(page);
  }
  return pages;
}

/** Where a map (or a concert's dates) opens: at the first with seats of the fan's, else with a free seat, else the first. */
export function openingChoice(choices: readonly { free: number; mine: number }[]): number {
  const mine = choices.findIndex((choice) => choice.mine > 0);
  return mine >= 0 ? mine : Math.max(0, choices.findIndex((choice) => choice.free > 0));
}

/** A choice's words beside its name: its free seats, and the fan's own if any ("312 free, 2 yours"). */
export const choiceCounts = ({ free, mine }: { free: number; mine: number }): string => `${formatCount(free)} free${mine > 0 ? `, ${mine} yours` : ''}`;

/**
 * Where a key moves the focus in a seat map laid out `columns` to a row (the seats in order, row by
 * row): arrows by one seat or one row, Home and End to the row's ends, with Ctrl to the map's. The
 * map is one Tab stop (a 2,000-seat map was 2,000); undefined: the key does not move it (past an
 * edge, or not a moving key).
 */
export function seatKeyTarget(key: string, ctrlKey: boolean, index: number, count: number, columns: number): number | undefined {
  const rowStart = index - (index % columns);
  const target: Record<string, number> = {
    ArrowLeft: index - 1,
    ArrowRight: index + 1,
    ArrowUp: index - columns,
    ArrowDown: index + columns,
    Home: ctrlKey ? 0 : rowStart,
    End: ctrlKey ? count - 1 : Math.min(rowStart + columns, count) - 1,
  };
  const to = target[key];
  return to === undefined || to < 0 || to >= count || to === index ? undefined : to;
}

/**
 * A hold or release on the seat map that failed: of which seat, how many seats of the schedule the
 * fan held then, the socket's reconnects then, the map's reads then, and whether the seat has read
 * taken (HELD or RESERVED) since (followSeatFailure).
 */
export interface SeatFailure<P extends { code: string }> {
  problem: P;
  seatId: string;
  heldThen: number;
  reconnectsThen: number;
  readsThen: number;
  takenSince?: boolean;
}

/**
 * The failure as its seat's status moves on the map: "someone else just took that seat"
 * (SEAT_UNAVAILABLE) is over once the seat reads AVAILABLE again after it read taken since, or after
 * the map was read again since (the rival may have let it go before that read): its holder let it go,
 * or its sale was cancelled, and the note would otherwise stand beside a free seat. Not on the
 * AVAILABLE the map showed when the fan pressed it, which was wrong. The same object while nothing
 * changes.
 */
export function followSeatFailure<P extends { code: string }>(failure: SeatFailure<P> | undefined, statusNow: SeatStatus | undefined, readsNow: number): SeatFailure<P> | undefined {
  if (failure?.problem.code !== 'SEAT_UNAVAILABLE' || statusNow === undefined) return failure;
  if (statusNow !== 'AVAILABLE') return failure.takenSince ? failure : { ...failure, takenSince: true };
  return failure.takenSince || readsNow > failure.readsThen ? undefined : failure;
}

/**
 * Reads of a map again that refusals ask for (SEAT_UNAVAILABLE: the map showed free a seat that was
 * not), one at most this often: a stadium's map is about 1.5 MB, the account's seat-map budget
 * counts each (SEAT_MAP_FIELDS_PER_MINUTE), and the live feed shows the rival's hold meanwhile.
 */
export const MAP_REREAD_SPACING_MS = 10_000;

/** How long a read again asked now waits: none once the map was last read a spacing ago (or never). */
export function rereadDelayMs(lastReadAt: number | undefined, now: number): number {
  return lastReadAt === undefined ? 0 : Math.max(0, lastReadAt + MAP_REREAD_SPACING_MS - now);
}

/**
 * The failure the seat map still says, until the next choice: HOLD_LIMIT_REACHED only while the fan
 * holds as many seats of the schedule as when it was said (released, paid or run out, one may be
 * held); "cannot reach the server" (NETWORK) only until the connection is back (the map is read again then).
 */
export function seatFailureShown<P extends { code: string }>(failure: SeatFailure<P> | undefined, heldNow: number, reconnectsNow: number): P | undefined {
  if (!failure) return undefined;
  const { code } = failure.problem;
  if (code === 'HOLD_LIMIT_REACHED' && heldNow < failure.heldThen) return undefined;
  if (code === 'NETWORK' && reconnectsNow > failure.reconnectsThen) return undefined;
  return failure.problem;
}

/**
 * A concert's dates with the free seats counted on their open seat maps, live: the counts read with
 * the concert are re-read at most every few seconds, and beside a map they contradicted it.
 */
export function withLiveCounts<C extends { schedules: readonly { id: string; availableSeats: number }[] }>(concert: C, free: ReadonlyMap<string, number>): C {
  if (free.size === 0) return concert;
  const schedules = concert.schedules.map((schedule) => {
    const live = free.get(schedule.id);
    return live === undefined ? schedule : { ...schedule, availableSeats: live };
  });
  return { ...concert, schedules };
}

/**
 * A schedule's seat map: the seats read from the API, with the `seatChanged` events received since
 * that read applied on top, and the fan's own holds marked. Pure logic, unit-tested.
 */

export type SeatStatus = 'AVAILABLE' | 'HELD' | 'RESERVED';
/** What a seat looks like to this fan: its status, or MINE for a seat the fan holds. */
export type SeatLook = SeatStatus | 'MINE';

export interface SeatState {
  id: string;
  number: number;
  price: number;
  status: SeatStatus;
}

/** A seat's new status, as seatChanged pushes it. */
export type SeatChange = Pick<SeatState, 'id' | 'status'>;

/** Applies one change to the map (unknown seats are ignored: they belong to another schedule). */
export function applySeatChange(seats: readonly SeatState[], change: SeatChange): readonly SeatState[] {
  const index = seats.findIndex((seat) => seat.id === change.id);
  if (index < 0 || seats[index]!.status === change.status) return seats;
  const next = seats.slice();
  next[index] = { ...seats[index]!, status: change.status };
  return next;
}

export function seatLook(seat: Pick<SeatState, 'id' | 'status'>, myHeldSeatIds: ReadonlySet<string>): SeatLook {
  if (seat.status === 'HELD' && myHeldSeatIds.has(seat.id)) return 'MINE';
  return seat.status;
}

const LOOK_WORDS: Record<SeatLook, string> = { AVAILABLE: 'available', HELD: 'held by someone else', RESERVED: 'sold', MINE: 'held by you' };

export function seatLookWords(look: SeatLook): string {
  return LOOK_WORDS[look];
}

/** What the fan is told when holds of theirs ran out: "Your hold on seat 4 ran out…". */
export function holdsRanOutWords(seatNumbers: readonly number[]): string {
  const [first, ...others] = seatNumbers;
  if (others.length === 0) return `Your hold on seat ${first} ran out, so the seat is free for others again.`;
  return `Your holds on seats ${[first, ...others.slice(0, -1)].join(', ')} and ${others.at(-1)} ran out, so the seats are free for others again.`;
}

/**
 * Which live changes may be the fan's own doing in another tab or device of the account: seatChanged
 * says a seat is HELD, not by whom. Those are a seat newly held by someone no read of the fan's holds
 * has named yet, a seat of the fan's (as last read) sold or freed, and the sale of a seat whose holder
 * was not known (paid elsewhere, the balance changed); and the end of the turn of a fan who holds
 * seats, which a payment elsewhere may bring before the seat maps, gone with the turn, hear of its sale.
 * The page reads the fan's holds, and after such a sale their balance, again for these only: not for
 * every change of a map of 100,000 seats, and not for the fan's own hold or release here, which the
 * read that follows it settles. Pure, unit-tested.
 */
export class MaybeOwnChanges {
  private clock = 0;
  /** Seats held since by someone not yet known, with when their HELD came. */
  private readonly unknownHolders = new Map<string, number>();
  /** Seats the fan holds (as last read) that were sold or freed since. */
  private readonly ended = new Set<string>();
  /** When the turn of a fan holding seats ended, until a read sent after it answers. */
  private turnEndedAt: number | undefined;
  private balanceStale = false;

  /** A live change, `mine` the seats the fan holds as last read: whether a re-read is due. */
  note(change: SeatChange, mine: ReadonlySet<string>): boolean {
    if (change.status === 'HELD') {
      if (!mine.has(change.id)) this.unknownHolders.set(change.id, ++this.clock);
    } else {
      const holderUnknown = this.unknownHolders.delete(change.id);
      if (mine.has(change.id)) this.ended.add(change.id);
      if (change.status === 'RESERVED' && (holderUnknown || mine.has(change.id))) this.balanceStale = true;
    }
    return this.holdsStale() || this.balanceStale;
  }

  /** The fan's turn ended, `mine` the seats they hold as last read: whether a re-read is due. */
  turnEnded(mine: ReadonlySet<string>): boolean {
    if (mine.size === 0 && this.unknownHolders.size === 0) return false;
    this.turnEndedAt = ++this.clock;
    this.balanceStale = true;
    return true;
  }

  /** A read of the fan's holds goes out: give what this returns to `answered` with its answer. */
  send(): number {
    return ++this.clock;
  }

  /** The read sent at `sent` answered that the fan holds `mine`: the changes it tells about are settled. */
  answered(sent: number, mine: ReadonlySet<string>): void {
    for (const [seatId, at] of this.unknownHolders) if (at < sent || mine.has(seatId)) this.unknownHolders.delete(seatId);
    for (const seatId of this.ended) if (!mine.has(seatId)) this.ended.delete(seatId);
    if (this.turnEndedAt !== undefined && this.turnEndedAt < sent) this.turnEndedAt = undefined;
  }

  /** What to read again now; the balance counts as read from here. */
  due(): { holds: boolean; balance: boolean } {
    const balance = this.balanceStale;
    this.balanceStale = false;
    return { holds: this.holdsStale(), balance };
  }

  private holdsStale(): boolean {
    return this.unknownHolders.size > 0 || this.ended.size > 0 || this.turnEndedAt !== undefined;
  }
}

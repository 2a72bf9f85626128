import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Checkout, failureShown, holdsTickets, paymentKey, payOutcome, PendingPayments } from '../web/src/logic/checkout';
import { Coalescer } from '../web/src/logic/coalesce';
import { closeCallsForSessionCheck, feedRetryMs, retryAfterFailureMs, retryDelayMs } from '../web/src/logic/connection';
import { errorCode, errorMessage, isTransient, NETWORK_BACK_MESSAGE, noteText, problemOf } from '../web/src/logic/errors';
import { ACTIVE_PAUSED_MESSAGE, ACTIVE_SEAT_BACK_MESSAGE, ACTIVE_SOLD_OUT_MESSAGE, activeSupplyNews, announcement, concertPageName, datesOnSale, estimatedWaitWords, HOLDS_OUTLAST_TURN, HOLDS_STILL_PAYABLE, inLine, LEAVE_SETTLE_MS, logOutQuestion, overHttpWords, lineProgress, LineMemory, lostWords, offPageNews, PAUSED_MESSAGE, PLACE_ENDED_AWAY_MESSAGE, PLACE_LOST_MESSAGE, PREQUEUE_MESSAGE, SEAT_BACK_MESSAGE, seatSupply, seatsLeftWords, SOLD_OUT_LEFT_LINE_MESSAGE, SOLD_OUT_MESSAGE, TURN_ENDED_MESSAGE, turnEnded, waitsInLine, type QueueView } from '../web/src/logic/queue';
import { NewestSource } from '../web/src/logic/newest';
import { applySeatChange, choiceCounts, followSeatFailure, heldWords, holdsGoneByRunningOut, holdsRanOutWords, MaybeOwnChanges, openingChoice, PaidElsewhere, paidElsewhereWords, pendingOwnSeats, releasedWords, MAP_REREAD_SPACING_MS, rereadDelayMs, SEATS_PER_PAGE, seatFailureShown, seatKeyTarget, seatLook, seatPages, seatPositions, seatsFromLists, withLiveCounts, type SeatState } from '../web/src/logic/seats';
import { countWords, formatCount } from '../web/src/logic/numbers';
import { pointsWords, refundWords } from '../web/src/logic/points';
import { formatCountdown, formatDateTime, formatWait, remainingMs, salesOpenCountdown, sessionWarningAt, spokenCountdown, turnEndingWarning } from '../web/src/logic/time';
import { SecondTicker } from '../web/src/logic/second-ticker';
import { ServerClock } from '../web/src/logic/server-clock';
import { cancelledBefore, inShowOrder } from '../web/src/logic/tickets';

/* The web app's logic that is not markup (web/src/logic/), without a browser. */

/** Web Storage over a Map, for one test. */
function mapStorage() {
  const store = new Map<string, string>();
  return { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v), removeItem: (k: string) => void store.delete(k) };
}

describe('checkout idempotency key', () => {
  it('is the key of the set of holds: any attempt, in any tab, to pay the same holds sends the same key', () => {
    expect(paymentKey(['h2', 'h1'])).toBe('web-h1,h2');
    expect(paymentKey(['h1', 'h2', 'h1'])).toBe('web-h1,h2');
    expect(new Checkout().begin(['h1', 'h2'])).toBe(paymentKey(['h2', 'h1']));
    // Another seat added: another payment, another key (reusing the first would be IDEMPOTENCY_KEY_REUSED).
    expect(paymentKey(['h1', 'h2', 'h3'])).not.toBe(paymentKey(['h1', 'h2']));
  });

  it('remembers, per account and concert, a payment sent until its outcome is known, across a reload (the tab storage)', () => {
    const storage = mapStorage();
    const tab = new PendingPayments(storage, 'ct:paying:1');
    tab.sent('7', ['h1', 'h2']);
    tab.sent('8', ['h3']);
    const reloaded = new PendingPayments(storage, 'ct:paying:1');
    expect(reloaded.of('7')).toEqual(['h1', 'h2']);
    expect(new PendingPayments(storage, 'ct:paying:2').of('7')).toBeUndefined();
    reloaded.settled('7');
    expect(tab.of('7')).toBeUndefined();
    expect(tab.of('8')).toEqual(['h3']);
    tab.settled('8');
    expect(storage.getItem('ct:paying:1')).toBeNull();
    // Storage written by something else is no pending payment.
    storage.setItem('ct:paying:1', 'not json');
    expect(tab.of('7')).toBeUndefined();
  });

  it("stays within the API's 128 characters for a long cart", () => {
    const holds = Array.from({ length: 12 }, (_, i) => `${100 + i}.${200_000 + i}.AbCdEfGhIjKl`);
    const key = paymentKey(holds);
    expect(key).toHaveLength(128);
    expect(key.startsWith(`web-${holds[0]},`)).toBe(true);
  });

  it('shows a payment as tickets only while one of them stands: an out-of-date cart answered with a payment since cancelled bought nothing', () => {
    expect(holdsTickets([{ status: 'CONFIRMED' }])).toBe(true);
    expect(holdsTickets([{ status: 'CANCELLED' }, { status: 'CONFIRMED' }])).toBe(true);
    expect(holdsTickets([{ status: 'CANCELLED' }])).toBe(false);
  });

  it('reads a payment\'s answer as the payment, or why not: its tickets gone, the error, or no answer at all', () => {
    const paid = { reservations: [{ status: 'CONFIRMED' }] };
    expect(payOutcome(paid, undefined)).toEqual({ payment: paid });
    expect(payOutcome({ reservations: [{ status: 'CANCELLED' }] }, undefined)).toEqual({ problem: { code: 'HOLD_NOT_FOUND' } });
    expect(payOutcome(null, { graphQLErrors: [{ message: 'busy', extensions: { code: 'SERVICE_UNAVAILABLE' } }] })).toEqual({ problem: { code: 'SERVICE_UNAVAILABLE' } });
    expect(payOutcome(undefined, undefined)).toEqual({ problem: { code: 'NETWORK' } });
  });

  it('says a failure while the cart shows a hold it was about, or none (a payment of holds gone says why), not over other holds', () => {
    const gone = { problem: { code: 'HOLD_NOT_FOUND' }, holdIds: ['h1', 'h2'] };
    // Pay pressed on holds released elsewhere: the re-read empties the cart, and the note stays to say why.
    expect(failureShown(gone, [])).toEqual({ code: 'HOLD_NOT_FOUND' });
    expect(failureShown(gone, ['h2'])).toEqual({ code: 'HOLD_NOT_FOUND' });
    // A new hold since: a clean cart.
    expect(failureShown(gone, ['h3'])).toBeUndefined();
    expect(failureShown(undefined, [])).toBeUndefined();
  });

  it('ignores a second attempt while one is in flight (a double click pays once), and pays nothing with no holds', () => {
    const checkout = new Checkout();
    expect(checkout.begin([])).toBeUndefined();
    expect(checkout.begin(['h1'])).toBe('web-h1');
    expect(checkout.begin(['h1'])).toBeUndefined();
    checkout.finish();
    // A retry after an error or no answer: the same key.
    expect(checkout.begin(['h1'])).toBe('web-h1');
  });
});

describe('countdowns and waits', () => {
  it('formats a countdown as a clock, rounding up so 0:00 means over', () => {
    expect(formatCountdown(0)).toBe('0:00');
    expect(formatCountdown(-5000)).toBe('0:00');
    expect(formatCountdown(1)).toBe('0:01');
    expect(formatCountdown(9_000)).toBe('0:09');
    expect(formatCountdown(299_500)).toBe('5:00');
    expect(formatCountdown(245_000)).toBe('4:05');
    expect(formatCountdown(3_723_000)).toBe('1:02:03');
    // From a day on, days: an opening years away reads as such, not as 28741:44:21.
    expect(formatCountdown(86_400_000)).toBe('1 day 0:00:00');
    expect(formatCountdown((3 * 86_400 + 4 * 3600 + 5 * 60 + 6) * 1000)).toBe('3 days 4:05:06');
    expect(formatCountdown((1197 * 86_400 + 44 * 60 + 21) * 1000)).toBe('1,197 days 0:44:21');
  });

  it('counts down to an ISO deadline, never below zero', () => {
    const now = Date.parse('2030-01-01T19:00:00Z');
    expect(remainingMs('2030-01-01T19:05:00Z', now)).toBe(300_000);
    expect(remainingMs('2030-01-01T18:00:00Z', now)).toBe(0);
    expect(remainingMs('not a date', now)).toBe(0);
  });

  it('says countdowns and waits in words', () => {
    expect(spokenCountdown(245_000)).toBe('4 minutes 5 seconds');
    expect(spokenCountdown(60_000)).toBe('1 minute');
    expect(spokenCountdown(1_000)).toBe('1 second');
    expect(spokenCountdown(0)).toBe('0 seconds');
    // As the clock shows it from an hour and a day on, not as thousands of minutes.
    expect(spokenCountdown(3_723_000)).toBe('1 hour 2 minutes 3 seconds');
    expect(spokenCountdown((3 * 86_400 + 4 * 3600 + 5 * 60 + 6) * 1000)).toBe('3 days 4 hours 5 minutes 6 seconds');
    expect(formatWait(null)).toBe('unknown for now');
    expect(formatWait(12)).toBe('less than a minute');
    expect(formatWait(60)).toBe('about 1 minute');
    expect(formatWait(200)).toBe('about 3 minutes');
    expect(formatWait(7200)).toBe('about 2 hours');
  });

  it('says the wait while admission is paused from when a seat comes back: a moment for a fan whom a free slot awaits', () => {
    const waiting = { position: 1, estimatedWaitSeconds: 120, seatsLeft: 0, active: 1 };
    expect(estimatedWaitWords(waiting, 2)).toBe('a moment once a seat comes back');
    expect(estimatedWaitWords({ ...waiting, position: 2 }, 2)).toBe('about 2 minutes once a seat comes back');
    expect(estimatedWaitWords({ ...waiting, active: 2 }, 2)).toBe('about 2 minutes once a seat comes back');
    // Seats left: the API's figure as it is.
    expect(estimatedWaitWords({ ...waiting, seatsLeft: 3, estimatedWaitSeconds: 1 }, 2)).toBe('less than a minute');
    expect(estimatedWaitWords({ ...waiting, estimatedWaitSeconds: null }, 2)).toBe('unknown for now');
  });

  it('names the time zone of a date shown (the fan may not be where the venue is), and tells the dates still on sale', () => {
    // The date as before, then the zone's name ("UTC", "GMT+1", "EST"…).
    const withoutZone = new Date('2030-01-01T19:00:00Z').toLocaleString('en-US', { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
    expect(formatDateTime('2030-01-01T19:00:00Z', 'en-US')).toMatch(new RegExp(`^${withoutZone} [A-Z][A-Za-z]*([+-][0-9:]+)?$`));
    const dates = [{ startsAt: '2030-01-01T19:00:00Z' }, { startsAt: '2030-01-02T19:00:00Z' }];
    expect(datesOnSale(dates, Date.parse('2030-01-01T18:59:59Z'))).toEqual(dates);
    expect(datesOnSale(dates, Date.parse('2030-01-01T19:00:00Z'))).toEqual([dates[1]]);
    expect(datesOnSale(dates, Date.parse('2030-01-03T00:00:00Z'))).toEqual([]);
  });

  it('counts down to the opening of sales, and says nothing once sales are open', () => {
    const now = Date.parse('2030-01-01T09:55:28Z');
    expect(salesOpenCountdown('2030-01-01T10:00:00Z', now)).toBe('Sales open in 4:32');
    expect(salesOpenCountdown('2030-01-01T09:55:28.400Z', now)).toBe('Sales open in 0:01'); // rounds up: 0:00 only once open
    expect(salesOpenCountdown('2030-01-01T12:00:00Z', now)).toBe('Sales open in 2:04:32');
    expect(salesOpenCountdown('2030-01-01T09:55:28Z', now)).toBeUndefined();
    expect(salesOpenCountdown('2029-12-31T10:00:00Z', now)).toBeUndefined();
    expect(salesOpenCountdown(null, now)).toBeUndefined();
    expect(salesOpenCountdown(undefined, now)).toBeUndefined();
  });

  it('checks the session over HTTP only when the server closed the socket for a limit (4429), not for a drop, a timeout or a normal close', () => {
    expect(closeCallsForSessionCheck(4429)).toBe(true);
    for (const code of [1000, 1001, 1006, 4408, 4403, undefined]) expect(closeCallsForSessionCheck(code)).toBe(false);
  });

  it('reconnects with a capped backoff', () => {
    expect(retryDelayMs(0, () => 0)).toBe(1000);
    expect(retryDelayMs(3, () => 0)).toBe(8000);
    expect(retryDelayMs(30, () => 0.999)).toBe(10_499);
  });
});

describe('SecondTicker (the page’s one clock for countdowns)', () => {
  it('ticks every listener on the same second, and gives a countdown that mounts after a pause the time now', async () => {
    let now = 5_000_400;
    const ticker = new SecondTicker(() => now);
    const first = vi.fn();
    const second = vi.fn();
    const stopFirst = ticker.subscribe(first);
    const stopSecond = ticker.subscribe(second);
    now = 5_001_000;
    await vi.waitFor(() => expect(first).toHaveBeenCalled(), { timeout: 1500 });
    expect(second).toHaveBeenCalledTimes(first.mock.calls.length);
    expect(ticker.get()).toBe(5_001_000);
    stopFirst();
    stopSecond();
    // Nobody counts down for a minute; a countdown then mounts: not from the last tick's time.
    now = 5_064_000;
    expect(ticker.get()).toBe(5_064_000);
    now = 5_064_300;
    expect(ticker.get()).toBe(5_064_000); // one value within the second, as React asks
  });
  it('ticks when the clock reaches the next whole second, not a second after it was subscribed, and on every whole second after', () => {
    vi.useFakeTimers();
    try {
      vi.setSystemTime(7_000_300);
      const ticker = new SecondTicker(() => Date.now());
      const listener = vi.fn();
      const stop = ticker.subscribe(listener);
      vi.advanceTimersByTime(699);
      expect(listener).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      // A countdown to 7_001_000 reads 0:00 when the clock gets there, not up to a second later.
      expect(listener).toHaveBeenCalledTimes(1);
      expect(ticker.get()).toBe(7_001_000);
      vi.advanceTimersByTime(1000);
      expect(listener).toHaveBeenCalledTimes(2);
      expect(ticker.get()).toBe(7_002_000);
      stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('error messages', () => {
  it('says every code the booking flow can meet in plain words', () => {
    for (const code of ['SEAT_UNAVAILABLE', 'HOLD_LIMIT_REACHED', 'INSUFFICIENT_POINTS', 'NOT_ACTIVE', 'HOLD_NOT_FOUND', 'SERVICE_UNAVAILABLE', 'UNAUTHENTICATED', 'EMAIL_TAKEN', 'INVALID_CREDENTIALS', 'IDEMPOTENCY_KEY_REUSED', 'NETWORK', 'NOT_CANCELLABLE', 'NOT_FOUND', 'RATE_LIMITED']) {
      const message = errorMessage(code);
      expect(message, code).not.toMatch(/[A-Z]{2,}_[A-Z]/); // no raw code
      expect(message, code).not.toBe(errorMessage(undefined));
    }
    expect(errorMessage('SEAT_UNAVAILABLE')).toMatch(/someone else/i);
    expect(errorMessage('INSUFFICIENT_POINTS')).toMatch(/points/i);
    expect(errorMessage('SOMETHING_NEW')).toBe('Something went wrong. Please try again.');
  });

  it('promises no retry for a network failure: nothing repeats a request by itself for that message', () => {
    expect(errorMessage('NETWORK')).toBe('Cannot reach the server. Check your connection and try again.');
  });

  it('says a read that got no answer neither while the page says the server is away nor once it answers again (the page reads again by itself); anything else, once back, as still to do', () => {
    const network = { code: 'NETWORK' };
    const away = { unreachable: true, recovered: false };
    const back = { unreachable: false, recovered: true };
    expect(noteText(network, { read: true, ...away })).toBeUndefined();
    expect(noteText(network, { read: true, ...back })).toBeUndefined();
    expect(noteText(network, { read: true, unreachable: false, recovered: false })).toBe(errorMessage('NETWORK'));
    expect(noteText(network, { read: false, ...away })).toBe(errorMessage('NETWORK'));
    expect(noteText(network, { read: false, ...back })).toBe(NETWORK_BACK_MESSAGE);
    // Words of the caller's own for it (a payment's unknown outcome) stay, back or not.
    expect(noteText(network, { read: false, ...back, words: { NETWORK: 'It may have gone through.' } })).toBe('It may have gone through.');
    expect(noteText({ code: 'SEAT_UNAVAILABLE' }, { read: true, ...back })).toBe(errorMessage('SEAT_UNAVAILABLE'));
    expect(noteText(undefined, { read: false, ...back })).toBeUndefined();
  });

  it('says why a ticket cannot be cancelled any more', () => {
    expect(errorMessage('NOT_CANCELLABLE')).toBe('This show has started: tickets can no longer be cancelled.');
  });

  it('says how long to wait when rate limited, from extensions.retryAfterSeconds', () => {
    expect(errorMessage('RATE_LIMITED', 12)).toBe('Too many attempts: try again in 12 s.');
    expect(errorMessage('RATE_LIMITED', 0.2)).toBe('Too many attempts: try again in 1 s.');
    // A log-in limit's window is 15 minutes: minutes past a minute and a half.
    expect(errorMessage('RATE_LIMITED', 90)).toBe('Too many attempts: try again in 90 s.');
    expect(errorMessage('RATE_LIMITED', 91)).toBe('Too many attempts: try again in 2 minutes.');
    expect(errorMessage('RATE_LIMITED', 898)).toBe('Too many attempts: try again in 15 minutes.');
    expect(errorMessage('RATE_LIMITED')).toBe('Too many attempts: try again in a moment.');
    expect(errorMessage('RATE_LIMITED', Number.NaN)).toBe('Too many attempts: try again in a moment.');
    const limited = { graphQLErrors: [{ extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 7 } }] };
    expect(problemOf(limited)).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 7 });
    const problem = problemOf(limited)!;
    expect(errorMessage(problem.code, problem.retryAfterSeconds)).toBe('Too many attempts: try again in 7 s.');
    expect(problemOf({ graphQLErrors: [{ extensions: { code: 'NOT_FOUND' } }] })).toEqual({ code: 'NOT_FOUND' });
    // BAD_USER_INPUT keeps the server's sentence (the log-in form shows it); other codes never keep theirs,
    // and the generic message stays generic (elsewhere the sentence may repeat input from a link).
    expect(problemOf({ graphQLErrors: [{ message: 'The password must have at least 8 characters.', extensions: { code: 'BAD_USER_INPUT' } }] })).toEqual({
      code: 'BAD_USER_INPUT',
      detail: 'The password must have at least 8 characters.',
    });
    expect(problemOf({ graphQLErrors: [{ message: 'ER_DUP_ENTRY…', extensions: { code: 'NOT_FOUND' } }] })).toEqual({ code: 'NOT_FOUND' });
    expect(errorMessage('BAD_USER_INPUT')).toMatch(/form is not right/);
    expect(problemOf({ networkError: new Error('down') })).toEqual({ code: 'NETWORK' });
    expect(problemOf(undefined)).toBeUndefined();
  });

  it('reads the code from a GraphQL error, or NETWORK when the request never got an answer', () => {
    expect(errorCode({ graphQLErrors: [{ extensions: { code: 'HOLD_LIMIT_REACHED' } }] })).toBe('HOLD_LIMIT_REACHED');
    expect(errorCode({ networkError: new Error('Failed to fetch'), graphQLErrors: [] })).toBe('NETWORK');
    expect(errorCode({ graphQLErrors: [{}] })).toBe('INTERNAL_SERVER_ERROR');
    // A socket the server closed for being over the account's limit is no lost network: it says so, and is retried.
    expect(errorCode({ networkError: { code: 4429, reason: 'Too many open connections' } })).toBe('SOCKET_LIMIT');
    expect(errorCode({ networkError: { code: 1006, reason: '' } })).toBe('NETWORK');
    expect(isTransient('SOCKET_LIMIT')).toBe(true);
    expect(errorMessage('SOCKET_LIMIT')).toMatch(/too many live connections/);
    expect(errorCode(null)).toBeUndefined();
  });
});

describe('waiting room', () => {
  const view = (state: string, position: number | null): QueueView => ({ state, position, waiting: 5, estimatedWaitSeconds: 30, activeUntil: null });

  it('moves the progress bar with the line, full once admitted', () => {
    expect(lineProgress('WAITING', 4, 4)).toBeCloseTo(1 / 5);
    expect(lineProgress('WAITING', 2, 4)).toBeCloseTo(3 / 5);
    expect(lineProgress('WAITING', 1, 4)).toBeCloseTo(4 / 5);
    expect(lineProgress('ACTIVE', null, 4)).toBe(1);
    expect(lineProgress('NONE', null, null)).toBe(0);
  });

  it('takes a payment in another tab as the end of a turn asked for, not a turn lost, whether its NONE came before or after; a place in line stays lost', () => {
    const storage = mapStorage();
    const tab = new LineMemory(storage, 'ct:lines:1');
    // Told of the payment first, then the turn's end.
    tab.seen('7', view('ACTIVE', null));
    tab.paying('7');
    tab.paid('7');
    tab.seen('7', view('NONE', null));
    expect(tab.lostFrom('7')).toBeNull();
    // The turn's end first ("Your turn has ended"), then the other tab's word of the payment.
    tab.seen('7', view('ACTIVE', null));
    tab.seen('7', view('NONE', null));
    expect(tab.lostFrom('7')).toBe('ACTIVE');
    tab.paid('7');
    expect(tab.lostFrom('7')).toBeNull();
    // Paying for seats held from an earlier turn, while back in line: a place lost later is still lost.
    tab.seen('8', view('WAITING', 3));
    tab.paid('8');
    tab.seen('8', view('NONE', null));
    expect(tab.lostFrom('8')).toBe('WAITING');
    tab.paid('8');
    expect(tab.lostFrom('8')).toBe('WAITING');
  });

  it('takes a turn that ended while a payment was on its way as lost if the payment is refused, and as no loss if it paid or the fan left', () => {
    // Each case on a fresh tab's memory of concert 7: statuses seen, and what the fan or the tab did.
    type Step = QueueView | ((memory: LineMemory) => void);
    const memoryAfter = (...steps: Step[]) => {
      const memory = new LineMemory(mapStorage(), 'ct:lines:1');
      for (const step of steps) if (typeof step === 'function') step(memory); else memory.seen('7', step);
      return memory;
    };
    const lostAfter = (...steps: Step[]) => memoryAfter(...steps).lostFrom('7');
    const ACTIVE = view('ACTIVE', null);
    const NONE = view('NONE', null);
    const paying = (memory: LineMemory) => memory.paying('7');
    const paid = (memory: LineMemory) => memory.paid('7');
    const refused = (memory: LineMemory) => memory.paymentFailed('7', true);
    const unanswered = (memory: LineMemory) => memory.paymentFailed('7', false);
    const leaving = (memory: LineMemory) => memory.leaving('7');
    const reloaded = (memory: LineMemory) => memory.forgetPaymentsUnderWay();
    // Refused: the turn ran out meanwhile (unsaid until then, and out of line).
    expect(lostAfter(ACTIVE, paying, NONE)).toBeNull();
    expect(memoryAfter(ACTIVE, paying, NONE).inLine()).toEqual([]);
    expect(lostAfter(ACTIVE, paying, NONE, refused)).toBe('ACTIVE');
    // Paid: the payment ended the turn, before or after its NONE.
    expect(lostAfter(ACTIVE, paying, NONE, paid)).toBeNull();
    expect(lostAfter(ACTIVE, paying, paid, NONE)).toBeNull();
    // Refused, the turn still on: a NONE later is a turn lost as any.
    expect(lostAfter(ACTIVE, paying, refused, NONE)).toBe('ACTIVE');
    // Left while paying: nothing lost, whatever the payment's outcome.
    expect(lostAfter(ACTIVE, paying, leaving, NONE, refused)).toBeNull();
    // A turn given after the payment was sent (sent while waiting; or entered again after the turn the
    // payment ended) is not the one the payment ended.
    expect(lostAfter(view('WAITING', 2), paying, ACTIVE, paid, NONE)).toBe('ACTIVE');
    expect(lostAfter(ACTIVE, paying, NONE, ACTIVE, paid, NONE)).toBe('ACTIVE');
    // Not answered (it may have paid): a NONE seen meanwhile is left unsaid; one after it is a turn lost.
    expect(lostAfter(ACTIVE, paying, NONE, unanswered)).toBeNull();
    expect(lostAfter(ACTIVE, paying, unanswered, NONE)).toBe('ACTIVE');
    // A turn lost before the payment was sent stays lost, refused or not.
    expect(lostAfter(ACTIVE, NONE, paying, refused)).toBe('ACTIVE');
    // Reloaded while a payment was on its way (its answer lost with the page): its outcome is unknown,
    // and a NONE after is a turn lost; a leave asked for before the reload still loses nothing.
    expect(lostAfter(ACTIVE, paying, reloaded, NONE)).toBe('ACTIVE');
    expect(lostAfter(ACTIVE, leaving, reloaded, NONE)).toBeNull();
    // Paying while waiting in line (seats of an earlier turn) changes nothing of the place.
    expect(lostAfter(view('WAITING', 4), paying, NONE)).toBe('WAITING');
  });

  it('hands the places the fan holds down to the account\'s next tab: lost there if out of line, as they were if not; never a place left, paid for or already lost, nor one seen too long ago', () => {
    const browser = mapStorage();
    let now = 1_000_000;
    const tab = () => new LineMemory(mapStorage(), 'ct:lines:1', { store: browser, key: 'ct:lines-handed-down:1', now: () => now });
    const closed = tab();
    closed.seen('7', view('WAITING', 5));
    closed.seen('7', view('WAITING', 3));
    closed.seen('8', view('ACTIVE', null));
    closed.seen('9', view('WAITING', 2));
    closed.leaving('9');
    // Another tab of the account, on a concert whose line the fan is not in, hands nothing down of it and keeps the rest.
    tab().seen('10', view('NONE', null));
    now += 90_000;
    const next = tab();
    next.adoptHandDown(60 * 60_000);
    expect(next.inLine().sort()).toEqual(['7', '8']);
    expect(next.start('7')).toBe(5);
    // Found gone at once: how it ended (the grace, or a leave on another device) was not seen here.
    next.seen('7', view('NONE', null));
    expect(next.lostFrom('7')).toBe('AWAY');
    expect(lostWords('AWAY')).toBe(PLACE_ENDED_AWAY_MESSAGE);
    next.seen('8', view('ACTIVE', null));
    expect(next.lostFrom('8')).toBeNull();
    // Seen in line here first, then gone: a place lost, as in any tab.
    next.seen('8', view('NONE', null));
    expect(next.lostFrom('8')).toBe('ACTIVE');
    next.seen('8', view('WAITING', 2));
    // What it saw is handed down in turn: the place lost is not, the turn kept is.
    const third = tab();
    third.adoptHandDown(60 * 60_000);
    expect(third.inLine()).toEqual(['8']);
    // A tab that remembers lines already (reloaded) takes nothing; places seen too long ago are not taken.
    next.seen('11', view('WAITING', 1));
    next.adoptHandDown(0);
    expect(next.inLine().sort()).toEqual(['11', '8']);
    now += 60 * 60_000 + 1;
    const late = tab();
    late.adoptHandDown(60 * 60_000);
    expect(late.inLine()).toEqual([]);
    // Logging out forgets them for the next tab too.
    next.clear();
    const afterLogOut = tab();
    afterLogOut.adoptHandDown(Infinity);
    expect(afterLogOut.inLine()).toEqual([]);
  });

  it('says why the status comes over HTTP: the server away, too many connections for the account, or a reconnection; a turn, not a place, for an ACTIVE fan', () => {
    const words = (over: { unreachable?: boolean; socketLimit?: boolean; active?: boolean }) => overHttpWords({ unreachable: false, socketLimit: false, active: false, checkSeconds: 15, ...over });
    expect(words({})).toBe('Reconnecting… your place in line is kept: meanwhile this page checks your place about every 15 seconds.');
    expect(words({ active: true })).toBe('Reconnecting… your turn is kept: meanwhile this page checks your turn about every 15 seconds.');
    expect(words({ socketLimit: true })).not.toContain('Reconnecting');
    expect(words({ socketLimit: true, active: true })).toContain('too many connections open: this page checks your turn about every 15 seconds instead');
    expect(words({ unreachable: true, socketLimit: true })).toMatch(/^The server is not answering right now\. Your place in line is kept only/);
  });

  it('remembers, per account and concert, where this entry into the line started, and a place lost without leaving', () => {
    const storage = mapStorage();
    const fan = new LineMemory(storage, 'ct:lines:1');
    fan.seen('7', view('WAITING', 6));
    fan.seen('7', view('WAITING', 3));
    fan.seen('8', view('PREQUEUE', null));
    expect(fan.start('7')).toBe(6);
    expect(fan.start('8')).toBeNull();
    expect(fan.inLine()).toEqual(['7', '8']);
    // Another account in the same tab starts from its own first position.
    const other = new LineMemory(storage, 'ct:lines:2');
    other.seen('7', view('WAITING', 2));
    expect(other.start('7')).toBe(2);
    expect(fan.start('7')).toBe(6);

    // Left (asked for): nothing lost, and the next entry starts afresh.
    fan.leaving('7');
    fan.seen('7', view('WAITING', 3)); // a push sent before the leave took effect
    fan.seen('7', view('NONE', null));
    expect(fan.lostFrom('7')).toBeNull();
    fan.seen('7', view('WAITING', 2));
    expect(fan.start('7')).toBe(2);

    // Out of line without asking: the place is lost, and stays said (after a reload too) until the fan enters again.
    fan.seen('7', view('NONE', null));
    expect(fan.lostFrom('7')).toBe('WAITING');
    expect(new LineMemory(storage, 'ct:lines:1').lostFrom('7')).toBe('WAITING');
    expect(fan.inLine()).toEqual(['8']);
    fan.seen('7', view('NONE', null));
    expect(fan.lostFrom('7')).toBe('WAITING');
    fan.seen('7', view('WAITING', 9));
    expect(fan.lostFrom('7')).toBeNull();
    expect(fan.start('7')).toBe(9);

    // A turn that ends without leaving or paying is a turn lost; a payment's answer after the NONE takes it back.
    fan.seen('7', view('ACTIVE', null));
    fan.seen('7', view('NONE', null));
    expect(fan.lostFrom('7')).toBe('ACTIVE');
    fan.leaving('7');
    expect(fan.lostFrom('7')).toBeNull();
    // (A payment from a turn: see the test of a turn that ended while a payment was on its way.)
    // A closed line (SOLD_OUT) is said as such; a fan never in line lost nothing.
    fan.seen('8', view('SOLD_OUT', null));
    fan.seen('9', view('NONE', null));
    expect([fan.lostFrom('8'), fan.lostFrom('9')]).toEqual([null, null]);

    // Logging out forgets the account's lines.
    fan.seen('7', view('WAITING', 4));
    fan.clear();
    expect([fan.start('7'), fan.inLine()]).toEqual([null, []]);
    expect(other.start('7')).toBe(2);
  });

  it('knows the places a fan logging out would leave behind, and asks about them', () => {
    const fan = new LineMemory(mapStorage(), 'ct:lines:1');
    fan.seen('7', view('WAITING', 6));
    fan.seen('8', view('ACTIVE', null));
    fan.seen('9', view('PREQUEUE', null));
    fan.seen('10', view('ACTIVE', null));
    fan.seen('11', view('WAITING', 2));
    fan.seen('12', view('WAITING', 4));
    // Left, paying from a turn, lost: nothing to ask about. A payment refused gives the turn back.
    fan.leaving('7');
    fan.paying('10');
    fan.seen('11', view('NONE', null));
    fan.paying('12');
    expect(fan.placesHeld()).toEqual([
      { concertId: '8', state: 'ACTIVE' },
      { concertId: '9', state: 'PREQUEUE' },
      { concertId: '12', state: 'WAITING' },
    ]);
    fan.paymentFailed('10', true);
    expect(fan.placesHeld().map((place) => place.concertId)).toEqual(['8', '9', '10', '12']);

    // A leave that never took effect (no answer; or the tab that asked logged out, the server away):
    // a status still in line within LEAVE_SETTLE_MS may predate it, one later says the place is held.
    let now = 1_000_000;
    const other = new LineMemory(mapStorage(), 'ct:lines:1', undefined, () => now);
    other.seen('7', view('WAITING', 6));
    other.leaving('7');
    now += LEAVE_SETTLE_MS - 1;
    other.seen('7', view('WAITING', 5));
    expect(other.placesHeld()).toEqual([]);
    now += 2;
    other.seen('7', view('WAITING', 4));
    expect(other.placesHeld()).toEqual([{ concertId: '7', state: 'WAITING' }]);
    other.seen('7', view('NONE', null));
    expect(other.lostFrom('7')).toBe('WAITING');
    // Paying from a turn is settled by the payment's outcome, not by time.
    other.seen('8', view('ACTIVE', null));
    other.paying('8');
    now += LEAVE_SETTLE_MS * 2;
    other.seen('8', view('ACTIVE', null));
    expect(other.placesHeld().map((place) => place.concertId)).toEqual([]);

    expect(logOutQuestion([])).toBeUndefined();
    expect(logOutQuestion(['WAITING'])).toBe('You are in line. Leave it as you log out? If you keep it, your place lasts only while a page of yours stays open, in another tab or on another device. Any seats you hold stay held until their holds run out.');
    expect(logOutQuestion(['PREQUEUE'])).toMatch(/^You are in line\. Leave it as you log out\? If you keep it, your place lasts/);
    expect(logOutQuestion(['ACTIVE'])).toMatch(/^It is your turn to choose seats\. Leave it as you log out\? If you keep it, your turn lasts/);
    expect(logOutQuestion(['ACTIVE', 'WAITING'])).toMatch(/^You are in 2 lines\. Leave them as you log out\? If you keep them, each place lasts/);
  });

  it('announces position and state changes once', () => {
    expect(announcement(undefined, view('WAITING', 3))).toBe('You are number 3 in line.');
    expect(announcement(view('WAITING', 3), view('WAITING', 3))).toBeUndefined();
    expect(announcement(view('WAITING', 3), view('WAITING', 1))).toBe('You are number 1 in line: you are next.');
    // Far back, only round numbers are said as the line moves (the page shows every place).
    expect(announcement(view('WAITING', 3456), view('WAITING', 3389))).toBeUndefined();
    expect(announcement(view('WAITING', 3012), view('WAITING', 2987))).toBe('You are number 2,987 in line.');
    expect(announcement(view('WAITING', 57), view('WAITING', 52))).toBeUndefined();
    expect(announcement(view('WAITING', 52), view('WAITING', 49))).toBe('You are number 49 in line.');
    expect(announcement(view('WAITING', 12), view('WAITING', 10))).toBe('You are number 10 in line.');
    // Near the front: 10, 5 and each of the last three (a line moving every second said each place).
    expect(announcement(view('WAITING', 10), view('WAITING', 9))).toBeUndefined();
    expect(announcement(view('WAITING', 7), view('WAITING', 6))).toBeUndefined();
    expect(announcement(view('WAITING', 6), view('WAITING', 5))).toBe('You are number 5 in line.');
    expect(announcement(view('WAITING', 9), view('WAITING', 4))).toBe('You are number 4 in line.');
    expect(announcement(view('WAITING', 5), view('WAITING', 4))).toBeUndefined();
    expect(announcement(view('WAITING', 4), view('WAITING', 3))).toBe('You are number 3 in line.');
    expect(announcement(view('WAITING', 3), view('WAITING', 2))).toBe('You are number 2 in line.');
    // A pause is still said while the place barely moves.
    expect(announcement({ ...view('WAITING', 3456), seatsLeft: 5 }, { ...view('WAITING', 3400), seatsLeft: 0 })).toBe(PAUSED_MESSAGE);
    expect(announcement(view('WAITING', 1), view('ACTIVE', null))).toMatch(/your turn/);
    expect(announcement(view('ACTIVE', null), view('NONE', null))).toMatch(/no longer/);
    expect(announcement(undefined, view('NONE', null))).toBeUndefined();
    // Out of line after the fan's own payment is no news: the payment's announcement stays.
    expect(announcement(view('ACTIVE', null), view('NONE', null), { afterPayment: true })).toBeUndefined();
    expect(announcement(view('NONE', null), view('SOLD_OUT', null), { afterPayment: true })).toBeUndefined();
    expect(announcement(view('ACTIVE', null), view('NONE', null), { afterPayment: false })).toMatch(/no longer/);
    expect(announcement(view('NONE', null), view('SOLD_OUT', null), { afterPayment: false })).toBe(SOLD_OUT_MESSAGE);
    // The turn ending while the fan holds seats: those can still be paid for.
    expect(announcement(view('ACTIVE', null), view('NONE', null), { holdingSeats: true })).toBe(`You are no longer in the waiting room. ${HOLDS_OUTLAST_TURN}`);
    // A place or turn lost without leaving is said so, live or as the first status seen (over what the region said before).
    expect(announcement(view('WAITING', 1), view('NONE', null), { lostFrom: 'WAITING' })).toBe(PLACE_LOST_MESSAGE);
    expect(announcement(undefined, view('NONE', null), { lostFrom: 'PREQUEUE' })).toBe(PLACE_LOST_MESSAGE);
    expect(announcement(undefined, view('NONE', null), { lostFrom: 'ACTIVE', holdingSeats: true })).toBe(`${TURN_ENDED_MESSAGE} ${HOLDS_OUTLAST_TURN}`);
    expect(announcement(view('NONE', null), view('NONE', null), { lostFrom: 'WAITING' })).toBeUndefined();
  });

  it('tells a fan on another page only what asks something of them or ends their wait, and only a change seen happen', () => {
    expect(offPageNews(view('WAITING', 1), view('ACTIVE', null), null)).toBe('It is your turn: you can choose seats now.');
    expect(offPageNews(view('PREQUEUE', null), view('ACTIVE', null), null)).toBe('It is your turn: you can choose seats now.');
    expect(offPageNews(view('WAITING', 9), view('SOLD_OUT', null), null)).toBe(announcement(view('WAITING', 9), view('SOLD_OUT', null)));
    expect(offPageNews(view('WAITING', 9), view('NONE', null), 'WAITING')).toBe(PLACE_LOST_MESSAGE);
    expect(offPageNews(view('ACTIVE', null), view('NONE', null), 'ACTIVE')).toBe(TURN_ENDED_MESSAGE);
    expect(offPageNews(view('ACTIVE', null), view('NONE', null), 'ACTIVE', true)).toBe(`${TURN_ENDED_MESSAGE} ${HOLDS_OUTLAST_TURN}`);
    // Moving up, sales opening, leaving by choice, a first status: no news.
    expect(offPageNews(view('WAITING', 9), view('WAITING', 2), null)).toBeUndefined();
    expect(offPageNews(view('PREQUEUE', null), view('WAITING', 5), null)).toBeUndefined();
    expect(offPageNews(view('WAITING', 9), view('NONE', null), null)).toBeUndefined();
    expect(offPageNews(undefined, view('ACTIVE', null), null)).toBeUndefined();
    expect(offPageNews(undefined, view('NONE', null), null)).toBeUndefined();
    expect(offPageNews(view('ACTIVE', null), view('ACTIVE', null), null)).toBeUndefined();
    // A first status that finds a place lost while no page saw it (a new tab, a reload): said on any page.
    expect(offPageNews(undefined, view('NONE', null), 'AWAY')).toBe(PLACE_ENDED_AWAY_MESSAGE);
    expect(offPageNews(undefined, view('NONE', null), 'ACTIVE', true)).toBe(`${TURN_ENDED_MESSAGE} ${HOLDS_OUTLAST_TURN}`);
    expect(turnEnded(undefined, view('NONE', null), 'ACTIVE')).toBe(true);
    expect(turnEnded(undefined, view('NONE', null), 'AWAY')).toBe(false);
    expect(turnEnded(view('ACTIVE', null), view('NONE', null))).toBe(true);
    expect(turnEnded(view('ACTIVE', null), view('SOLD_OUT', null))).toBe(false);
  });

  it('tells who is in line (a place to keep) from who is out of it', () => {
    expect(['PREQUEUE', 'WAITING', 'ACTIVE', 'NONE', 'SOLD_OUT'].filter(inLine)).toEqual(['PREQUEUE', 'WAITING', 'ACTIVE']);
    expect(['PREQUEUE', 'WAITING', 'ACTIVE', 'NONE', 'SOLD_OUT'].filter(waitsInLine)).toEqual(['PREQUEUE', 'WAITING']);
  });

  it('tells paused admission (every seat held) from sold out (every seat sold)', () => {
    expect(seatSupply(false, 312)).toBe('LEFT');
    expect(seatSupply(false, 0)).toBe('PAUSED'); // held seats may come back: wait
    expect(seatSupply(true, 0)).toBe('SOLD_OUT');
    // A turn's live count above 0 is newer than a read that said sold out before a cancellation brought a seat back.
    expect(seatSupply(true, 3)).toBe('LEFT');
    expect(seatsLeftWords(312)).toBe('312 seats left');
    expect(seatsLeftWords(1)).toBe('1 seat left');
    expect(seatsLeftWords(1500)).toBe('1,500 seats left');
  });

  it('tells an ACTIVE fan when nothing is left to choose, and when a seat is free again', () => {
    expect(activeSupplyNews('LEFT', 'PAUSED', 'PAUSED', false)).toBe(ACTIVE_PAUSED_MESSAGE);
    expect(activeSupplyNews('PAUSED', 'SOLD_OUT', 'SOLD_OUT', false)).toBe(ACTIVE_SOLD_OUT_MESSAGE);
    expect(activeSupplyNews('LEFT', 'SOLD_OUT', 'SOLD_OUT', true)).toBe(`${ACTIVE_SOLD_OUT_MESSAGE} ${HOLDS_STILL_PAYABLE}`);
    // A hold run out or released, a ticket cancelled: the seat is back, whichever the fan was told.
    expect(activeSupplyNews('PAUSED', 'LEFT', 'LEFT', false)).toBe(ACTIVE_SEAT_BACK_MESSAGE);
    expect(activeSupplyNews('SOLD_OUT', 'LEFT', 'LEFT', false)).toBe(ACTIVE_SEAT_BACK_MESSAGE);
    // The fan took the seat that came back before the count said it was free: nothing free to tell of.
    expect(activeSupplyNews('PAUSED', 'LEFT', 'PAUSED', true)).toBeUndefined();
    // Paying for seats held through the sell-out: no news.
    expect(activeSupplyNews('SOLD_OUT', 'LEFT', 'SOLD_OUT', true)).toBeUndefined();
    expect(activeSupplyNews('LEFT', 'LEFT', 'LEFT', false)).toBeUndefined();
    expect(activeSupplyNews('PAUSED', 'PAUSED', 'PAUSED', false)).toBeUndefined();
  });

  it('announces the pre-queue, the opening, pauses, resumptions and sold out', () => {
    const withSeats = (v: QueueView, seatsLeft: number): QueueView => ({ ...v, seatsLeft });
    expect(announcement(undefined, view('PREQUEUE', null))).toBe(PREQUEUE_MESSAGE);
    expect(announcement(view('PREQUEUE', null), view('PREQUEUE', null))).toBeUndefined();
    // The opening moved by an organiser is said, with when it is now; the same opening again is not.
    const opening = (v: QueueView, salesOpenAt: string): QueueView => ({ ...v, salesOpenAt });
    const at = '2030-05-01T19:00:00.000Z';
    expect(announcement(opening(view('PREQUEUE', null), '2030-05-01T19:05:00.000Z'), opening(view('PREQUEUE', null), at))).toBe(`The opening has moved: sales now open on ${formatDateTime(at)}.`);
    expect(announcement(opening(view('PREQUEUE', null), at), opening(view('PREQUEUE', null), at))).toBeUndefined();
    expect(announcement(view('PREQUEUE', null), view('WAITING', 4))).toBe('Sales are open. You are number 4 in line.');
    expect(announcement(view('PREQUEUE', null), view('ACTIVE', null))).toMatch(/your turn/);
    expect(announcement(withSeats(view('WAITING', 2), 3), withSeats(view('WAITING', 2), 0))).toBe(PAUSED_MESSAGE);
    expect(announcement(withSeats(view('WAITING', 2), 0), withSeats(view('WAITING', 2), 1))).toBe('Seats are free again: admission resumes. 1 seat left.');
    expect(announcement(withSeats(view('WAITING', 2), 5), withSeats(view('WAITING', 2), 4))).toBeUndefined(); // counts alone are not announced
    expect(announcement(withSeats(view('WAITING', 3), 2), withSeats(view('WAITING', 2), 0))).toBe(`You are number 2 in line. ${PAUSED_MESSAGE}`);
    // Entering while nothing is free (out of line, the counts already read 0): said on entering, once.
    expect(announcement(withSeats(view('NONE', null), 0), withSeats(view('WAITING', 1), 0))).toBe(`You are number 1 in line: you are next. ${PAUSED_MESSAGE}`);
    expect(announcement(withSeats(view('WAITING', 2), 0), withSeats(view('WAITING', 1), 0))).toBe('You are number 1 in line: you are next.');
    // Leaving the line is said to those who were in it (or in the pre-queue), not to a fan who never was.
    expect(announcement(view('WAITING', 2), view('SOLD_OUT', null))).toBe('Sold out — every seat is sold. You have left the line.');
    expect(announcement(view('PREQUEUE', null), view('SOLD_OUT', null))).toBe('Sold out — every seat is sold. You have left the line.');
    expect(announcement(undefined, view('SOLD_OUT', null))).toBe('Sold out — every seat is sold.');
    expect(announcement(view('SOLD_OUT', null), view('SOLD_OUT', null))).toBeUndefined();
    // A cancellation reopens the closed line: out of it (NONE), the fan left nothing, and may enter again.
    expect(announcement(view('SOLD_OUT', null), view('NONE', null))).toBe(SEAT_BACK_MESSAGE);
  });
  it('forgets a turn that ended while a payment was on its way once it paid: a later refused payment is no turn lost', () => {
    const tab = new LineMemory(mapStorage(), 'ct:lines:1');
    tab.seen('7', view('ACTIVE', null));
    tab.paying('7');
    tab.seen('7', view('NONE', null));
    tab.paid('7');
    expect(tab.lostFrom('7')).toBeNull();
    // Later, out of line, the fan pays for another seat still held; that payment is refused.
    tab.paying('7');
    tab.paymentFailed('7', true);
    expect(tab.lostFrom('7')).toBeNull();
  });

  it('does not adopt a turn handed down longer ago than it may be', () => {
    const browser = mapStorage();
    let now = 1_000_000;
    const tab = () => new LineMemory(mapStorage(), 'ct:lines:1', { store: browser, key: 'ct:lines-handed-down:1', now: () => now });
    tab().seen('8', view('ACTIVE', null));
    now += 60 * 60_000 + 1;
    const late = tab();
    late.adoptHandDown(60 * 60_000);
    expect(late.inLine()).toEqual([]);
    late.seen('8', view('NONE', null));
    expect(late.lostFrom('8')).toBeNull();
  });

  it('says "you have left the line" on a sell-out only to a fan it took out of the line, not to one whose turn ended', () => {
    expect(announcement(view('WAITING', 3), view('SOLD_OUT', null))).toBe(SOLD_OUT_LEFT_LINE_MESSAGE);
    expect(announcement(view('ACTIVE', null), view('SOLD_OUT', null))).toBe(SOLD_OUT_MESSAGE);
  });
});

describe('seat map', () => {
  const seats: SeatState[] = [1, 2, 3].map((n) => ({ id: `s${n}`, number: n, price: 100, status: 'AVAILABLE' }));

  it('reads a map answered as lists (Schedule.seatMap) as the seats numbered from 1', () => {
    expect(seatsFromLists({ ids: ['s7', 's8', 's9'], prices: [100, 100, 250], statuses: ['AVAILABLE', 'HELD', 'RESERVED'] })).toEqual([
      { id: 's7', number: 1, price: 100, status: 'AVAILABLE' },
      { id: 's8', number: 2, price: 100, status: 'HELD' },
      { id: 's9', number: 3, price: 250, status: 'RESERVED' },
    ]);
  });

  it('counts a date’s free seats from its open map, and leaves the others as read', () => {
    const concert = { title: 'x', schedules: [{ id: 'a', availableSeats: 10 }, { id: 'b', availableSeats: 7 }] };
    expect(withLiveCounts(concert, new Map())).toBe(concert);
    expect(withLiveCounts(concert, new Map([['b', 3]]))).toEqual({ title: 'x', schedules: [{ id: 'a', availableSeats: 10 }, { id: 'b', availableSeats: 3 }] });
    expect(withLiveCounts(concert, new Map([['b', 0]])).schedules[1]?.availableSeats).toBe(0);
  });

  it('applies live changes in order and ignores other schedules’ seats', () => {
    const positions = seatPositions(seats);
    let map: readonly SeatState[] = seats;
    map = applySeatChange(map, { id: 's2', status: 'HELD' }, positions);
    map = applySeatChange(map, { id: 's2', status: 'RESERVED' }, positions);
    map = applySeatChange(map, { id: 's9', status: 'HELD' }, positions);
    expect(map.map((s) => s.status)).toEqual(['AVAILABLE', 'RESERVED', 'AVAILABLE']);
    expect(seats[1]!.status).toBe('AVAILABLE'); // immutable
    expect(applySeatChange(map, { id: 's1', status: 'AVAILABLE' }, positions)).toBe(map);
  });

  it('shows a large map a page at a time, each page with its free seats counted', () => {
    const stadium: SeatState[] = Array.from({ length: SEATS_PER_PAGE * 2 + 7 }, (_, i) => ({ id: `s${i + 1}`, number: i + 1, price: 100, status: i % 3 === 0 ? 'RESERVED' : 'AVAILABLE' }));
    const pages = seatPages(stadium, new Set(['s1002']));
    expect(pages.map(({ start, end }) => [start, end])).toEqual([
      [0, SEATS_PER_PAGE],
      [SEATS_PER_PAGE, SEATS_PER_PAGE * 2],
      [SEATS_PER_PAGE * 2, SEATS_PER_PAGE * 2 + 7],
    ]);
    expect(pages.reduce((sum, page) => sum + page.free, 0)).toBe(stadium.filter((seat) => seat.status === 'AVAILABLE').length);
    expect(pages[2]!.free).toBe(5); // seats 1001–1007, of which 1003 and 1006 are sold
    expect(seatPages(seats, new Set())).toEqual([{ start: 0, end: 3, free: 3, mine: 0 }]);
    expect(seatPages([], new Set())).toEqual([]);
    // The fan's own hold is theirs, not free, and named in its page's words.
    const held = seatPages(applySeatChange(stadium, { id: 's1002', status: 'HELD' }, seatPositions(stadium)), new Set(['s1002']));
    expect(held[2]).toMatchObject({ free: 4, mine: 1 });
    expect(choiceCounts(held[2]!)).toBe('4 free, 1 yours');
    expect(choiceCounts(held[0]!)).toBe(`${held[0]!.free} free`);
    // A map (or a concert's dates) opens where the fan's seats are, else where one is free.
    expect(openingChoice(held)).toBe(2);
    expect(openingChoice([{ free: 0, mine: 0 }, { free: 3, mine: 0 }])).toBe(1);
    expect(openingChoice([{ free: 0, mine: 0 }])).toBe(0);
    // A change to the last seat of a large map finds it at once, and only it changes.
    const changed = applySeatChange(stadium, { id: `s${stadium.length}`, status: 'HELD' }, seatPositions(stadium));
    expect(changed.at(-1)!.status).toBe('HELD');
    expect(changed.filter((seat, i) => seat !== stadium[i])).toHaveLength(1);
  });

  it('shows the fan’s own holds as theirs', () => {
    const mine = new Set(['s1']);
    expect(seatLook({ id: 's1', status: 'HELD' }, mine)).toBe('MINE');
    expect(seatLook({ id: 's2', status: 'HELD' }, mine)).toBe('HELD');
    expect(seatLook({ id: 's1', status: 'AVAILABLE' }, mine)).toBe('AVAILABLE');
  });

  it('says which holds ran out', () => {
    expect(holdsRanOutWords([4])).toBe('Your hold on seat 4 ran out, so the seat is free for others again.');
    expect(holdsRanOutWords([4, 7])).toBe('Your holds on seats 4 and 7 ran out, so the seats are free for others again.');
    const now = Date.parse('2030-01-01T19:00:00Z');
    // The hold's answer comes a moment after it was taken: its time left is said to 10 seconds, never rounded up past it.
    expect(heldWords(4, 1500, '2030-01-01T19:04:58Z', now)).toBe('Seat 4 held for you, 1,500 points: pay within 5 minutes, or the hold runs out.');
    expect(heldWords(4, 100, '2030-01-01T19:01:35Z', now)).toBe('Seat 4 held for you, 100 points: pay within 1 minute 30 seconds, or the hold runs out.');
    expect(heldWords(4, 100, '2030-01-01T19:01:00Z', now)).toBe('Seat 4 held for you, 100 points: pay within 1 minute, or the hold runs out.');
    expect(heldWords(4, 100, '2030-01-01T19:00:20Z', now)).toBe('Seat 4 held for you, 100 points: pay within 20 seconds, or the hold runs out.');
    expect(releasedWords(4)).toBe('Seat 4 released: it is free for others again.');
  });

  it('takes holds gone from a read while another tab paid, or just after, for bought there, once that tab says it paid; not those released or paid here, run out, or gone while it paid nothing', () => {
    const hold = (id: string, expiresAt = '2030-01-01T19:05:00Z') => ({ id, expiresAt });
    const now = Date.parse('2030-01-01T19:00:00Z');
    const [h1, h2, h3, h4] = [hold('h1'), hold('h2'), hold('h3', '2030-01-01T18:59:59Z'), hold('h4')];
    const paid = new PaidElsewhere<{ id: string; expiresAt: string }>();
    expect(paid.read([h1!, h2!, h3!, h4!], new Set(), now)).toEqual([]);
    // Gone with no payment elsewhere on its way: released or bought on another device, not said here.
    expect(paid.read([h1!, h2!, h3!], new Set(), now)).toEqual([]);
    // The other tab pays; the read showing the holds gone comes before its word that it paid: said then.
    paid.paying(true);
    expect(paid.read([], new Set(['h2']), now)).toEqual([]); // h2 released here; h3 ran out
    expect(paid.paidNow(now).map((h) => h.id)).toEqual(['h1']);
    paid.paying(false);
    // Said once: later reads say nothing more.
    expect(paid.read([], new Set(), now + 1000)).toEqual([]);
    // A payment the other tab reports refused bought nothing: holds gone meanwhile are not said.
    paid.read([h4!], new Set(), now);
    paid.paying(true);
    paid.read([], new Set(), now);
    paid.paying(false);
    expect(paid.paidNow(now + 60_000)).toEqual([]);
    // Its word first, then the read (within 10 s of it), the usual order.
    const later = new PaidElsewhere<{ id: string; expiresAt: string }>();
    later.read([h1!, h4!], new Set(), now);
    expect(later.paidNow(now)).toEqual([]);
    expect(later.read([], new Set(), now + 500).map((h) => h.id)).toEqual(['h1', 'h4']);
    // A read long after the word is not the payment's.
    const late = new PaidElsewhere<{ id: string; expiresAt: string }>();
    late.read([h1!], new Set(), now);
    late.paidNow(now);
    expect(late.read([], new Set(), now + 11_000)).toEqual([]);
    expect(paidElsewhereWords([3])).toBe('Seat 3 was paid for in another tab: it is yours now.');
    expect(paidElsewhereWords([3, 4])).toBe('Seats 3 and 4 were paid for in another tab: they are yours now.');
  });

  it('counts a seat whose hold the map had answered as the fan’s only while their holds are being read, the seat reads HELD and the holds do not list it', () => {
    const status = new Map([['1', 'HELD'], ['2', 'HELD'], ['3', 'AVAILABLE']]);
    const statusOf = (seatId: string) => status.get(seatId);
    expect(pendingOwnSeats(['1', '2', '3'], new Set(['2']), statusOf, true)).toEqual(['1']);
    // The read answered: as the holds say (a HELD seat they lack is a rival's).
    expect(pendingOwnSeats(['1'], new Set(), statusOf, false)).toEqual([]);
    // Released or run out meanwhile (it read AVAILABLE), a HELD after that may be a rival's: not the fan's.
    expect(pendingOwnSeats(['3'], new Set(), statusOf, true)).toEqual([]);
  });

  it('tells of a session’s end a quarter of its life ahead, ten minutes at most', () => {
    const issuedAt = Date.UTC(2030, 0, 1);
    expect(sessionWarningAt({ issuedAt, expiresAt: issuedAt + 24 * 3600_000 })).toBe(issuedAt + 24 * 3600_000 - 10 * 60_000);
    expect(sessionWarningAt({ issuedAt, expiresAt: issuedAt + 40_000 })).toBe(issuedAt + 30_000);
  });

  it('names the concert page after the fan’s place in line, so a tab in the background shows the turn coming', () => {
    expect(concertPageName('Aurora', undefined)).toBe('Aurora');
    expect(concertPageName('Aurora', { state: 'NONE', position: null })).toBe('Aurora');
    expect(concertPageName('Aurora', { state: 'PREQUEUE', position: null })).toBe('Pre-queue · Aurora');
    expect(concertPageName('Aurora', { state: 'WAITING', position: 12_345 })).toBe('No. 12,345 in line · Aurora');
    expect(concertPageName('Aurora', { state: 'ACTIVE', position: null })).toBe('Your turn · Aurora');
    expect(concertPageName('Aurora', { state: 'SOLD_OUT', position: null })).toBe('Sold out · Aurora');
  });

  it('writes counts and points one way everywhere: thousands separated, and one of a thing', () => {
    expect(countWords(100_000, 'seat')).toBe('100,000 seats');
    expect(countWords(1, 'seat')).toBe('1 seat');
    expect(formatCount(12_345)).toBe('12,345');
    expect(pointsWords(1500)).toBe('1,500 points');
    expect(pointsWords(1)).toBe('1 point');
    expect(pointsWords(0)).toBe('0 points');
    expect(refundWords(12_345)).toBe('12,345 points are back in your balance.');
    expect(refundWords(1)).toBe('1 point is back in your balance.');
    expect(heldWords(3, 1, new Date(Date.now() + 60_000).toISOString(), Date.now())).toMatch(/^Seat 3 held for you, 1 point: pay within/);
  });

  it('takes a hold gone from a read for run out when its end had come by the server’s latest possible time, unless the page paid for it', () => {
    const hold = (id: string, expiresAt: string) => ({ id, expiresAt });
    const before = [hold('h1', '2030-01-01T19:00:00.000Z'), hold('h2', '2030-01-01T19:00:00.700Z'), hold('h3', '2030-01-01T19:04:00Z'), hold('h4', '2030-01-01T19:00:00.200Z')];
    const latestNow = Date.parse('2030-01-01T19:00:01.000Z');
    // h1 still read; h2 gone at its end (the page's own clock may not say so yet); h3 gone minutes
    // before its end (released or paid elsewhere); h4 paid here.
    const gone = holdsGoneByRunningOut(before, [before[0]!], new Set(['h4']), latestNow);
    expect(gone.map((h) => h.id)).toEqual(['h2']);
    expect(holdsGoneByRunningOut(before, before, new Set(), latestNow)).toEqual([]);
    expect(holdsRanOutWords([4, 7, 9])).toBe('Your holds on seats 4, 7 and 9 ran out, so the seats are free for others again.');
  });
  it('takes no hold gone during a later payment of the other tab, refused, for bought there, though an earlier one of that tab paid', () => {
    const hold = (id: string) => ({ id, expiresAt: '2030-01-01T19:05:00Z' });
    const now = Date.parse('2030-01-01T19:00:00Z');
    const tracker = new PaidElsewhere<{ id: string; expiresAt: string }>();
    tracker.read([hold('h1'), hold('h2')], new Set(), now);
    // The other tab pays other seats and says so before any read shows a hold gone.
    tracker.paying(true);
    expect(tracker.paidNow(now)).toEqual([]);
    tracker.paying(false);
    // A minute later it pays again; meanwhile h1 is released on another device; that payment is refused.
    const later = now + 60_000;
    tracker.paying(true);
    expect(tracker.read([hold('h2')], new Set(), later)).toEqual([]);
    tracker.paying(false);
    expect(tracker.read([hold('h2')], new Set(), later + 1000)).toEqual([]);
  });
});

describe('MaybeOwnChanges (the fan paying or releasing on another device)', () => {
  const none = new Set<string>();

  it('asks nothing of a busy sale: other fans holding, paying and releasing seats', () => {
    const changes = new MaybeOwnChanges();
    const mine = new Set(['mine']);
    for (let seat = 0; seat < 500; seat += 1) {
      for (const status of ['HELD', 'RESERVED', 'HELD', 'AVAILABLE'] as const) {
        expect(changes.note({ id: `s${seat}`, status }, seat % 2 ? mine : none)).toBe(false);
      }
    }
    expect(changes.due()).toEqual({ holds: false, balance: false });
  });

  it('leaves alone a seat of the fan’s held again (the echo of their own hold)', () => {
    expect(new MaybeOwnChanges().note({ id: 's1', status: 'HELD' }, new Set(['s1']))).toBe(false);
  });

  it('re-reads the holds and the balance when a seat of the fan’s is sold, the holds alone when it is freed', () => {
    const changes = new MaybeOwnChanges();
    const mine = new Set(['s1', 's2']);
    expect(changes.note({ id: 's1', status: 'RESERVED' }, mine)).toBe(true);
    expect(changes.due()).toEqual({ holds: true, balance: true });
    changes.answered(changes.send(), new Set(['s2']));
    expect(changes.due()).toEqual({ holds: false, balance: false });
    expect(changes.note({ id: 's2', status: 'AVAILABLE' }, new Set(['s2']))).toBe(true);
    expect(changes.due()).toEqual({ holds: true, balance: false });
  });

  it('re-reads the holds and the balance when the turn of a fan holding seats ends, until a read sent after it answers', () => {
    const changes = new MaybeOwnChanges();
    expect(changes.readSinceTurnEnded).toBe(true);
    const early = changes.send(); // a read that went out before the turn ended
    changes.turnEnded();
    expect(changes.due()).toEqual({ holds: true, balance: true });
    changes.answered(early, new Set(['s1']));
    expect(changes.readSinceTurnEnded).toBe(false);
    changes.answered(changes.send(), new Set(['s1'])); // the holds outlast the turn
    expect(changes.readSinceTurnEnded).toBe(true);
    expect(changes.due()).toEqual({ holds: false, balance: false });
  });
});

describe('Coalescer (re-reads after a burst of changes)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs a burst of calls once, at the end of the wait after the first', () => {
    let runs = 0;
    const coalescer = new Coalescer(() => (runs += 1), 5000);
    for (let i = 0; i < 10; i += 1) coalescer.soon();
    vi.advanceTimersByTime(4999);
    expect(runs).toBe(0);
    vi.advanceTimersByTime(1);
    expect(runs).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(runs).toBe(1);
  });

  it('runs at once when asked now, then holds off: the calls meanwhile run once at its end', () => {
    let runs = 0;
    const coalescer = new Coalescer(() => (runs += 1), 5000);
    coalescer.soon();
    coalescer.now(); // covers the call waiting
    expect(runs).toBe(1);
    coalescer.soon();
    coalescer.soon();
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(2);
    coalescer.now();
    vi.advanceTimersByTime(5000); // nothing called meanwhile
    expect(runs).toBe(3);
  });

  it('runs urgent calls at once unless it ran within the wait, then as soon: at most once per wait', () => {
    let runs = 0;
    const coalescer = new Coalescer(() => (runs += 1), 5000);
    coalescer.soon();
    coalescer.urgent(); // nothing ran lately: at once, covering the call waiting
    expect(runs).toBe(1);
    coalescer.urgent();
    coalescer.urgent();
    expect(runs).toBe(1);
    vi.advanceTimersByTime(5000); // the urgent calls meanwhile run once, at the end of the wait
    expect(runs).toBe(2);
    vi.advanceTimersByTime(5000);
    coalescer.urgent();
    expect(runs).toBe(3);
  });

  it('starts afresh after being cancelled with a run waiting (a component unmounted and mounted again)', () => {
    let runs = 0;
    const coalescer = new Coalescer(() => (runs += 1), 5000);
    coalescer.soon();
    coalescer.cancel();
    vi.advanceTimersByTime(10_000);
    expect(runs).toBe(0);
    coalescer.soon();
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(1);
  });
  it('runs a call made during the wait after a run asked now at the end of that wait, not a whole wait after the call', () => {
    let runs = 0;
    const coalescer = new Coalescer(() => (runs += 1), 5000);
    coalescer.now();
    expect(runs).toBe(1);
    vi.advanceTimersByTime(3000);
    coalescer.soon();
    vi.advanceTimersByTime(2000);
    expect(runs).toBe(2);
    vi.advanceTimersByTime(10_000);
    expect(runs).toBe(2);
  });
});

describe('isTransient', () => {
  it('says which failures the seat map tries again by itself: busy or unreachable, not a refusal', () => {
    for (const code of ['SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'TOO_MANY_REQUESTS', 'NETWORK', 'INTERNAL_SERVER_ERROR']) expect(isTransient(code), code).toBe(true);
    for (const code of ['NOT_ACTIVE', 'NOT_FOUND', 'UNAUTHENTICATED', 'BAD_USER_INPUT', undefined]) expect(isTransient(code), String(code)).toBe(false);
  });
});

describe('NewestSource (a live feed against the answers to our own requests)', () => {
  it('shows an enter answer only if the subscription said nothing while it was out', () => {
    const sources = new NewestSource<string>();
    sources.live('concert');
    const quiet = sources.send();
    expect(sources.takeAnswer('concert', quiet)).toBe(true);
    // The admission is pushed before the enter answer comes back: the answer (WAITING) is older.
    const overtaken = sources.send();
    sources.live('concert');
    expect(sources.takeAnswer('concert', overtaken)).toBe(false);
    expect(sources.takeAnswer('concert', sources.send())).toBe(true);
  });

  it('takes no answer older than one already taken: a status check sent before a leave and answered after it', () => {
    const sources = new NewestSource<string>();
    const check = sources.send();
    const leave = sources.send();
    expect(sources.takeAnswer('concert', leave)).toBe(true);
    expect(sources.takeAnswer('concert', check)).toBe(false);
    expect(sources.takeAnswer('concert', sources.send())).toBe(true);
  });

  it('judges each seat by its own changes: a rival holding the seat we released overrules our answer, a change of another seat does not', () => {
    const sources = new NewestSource<string>();
    const released = sources.send();
    sources.live('seat-7'); // a rival's HELD, pushed before the answer to our release of seat 7
    sources.live('seat-9');
    expect(sources.takeAnswer('seat-7', released)).toBe(false);
    const held = sources.send();
    sources.live('seat-9');
    expect(sources.takeAnswer('seat-3', held)).toBe(true);
  });
});

describe('retryAfterFailureMs (the seat map after a transient failure)', () => {
  it('backs off like the socket, and never retries before the Retry-After the server gave', () => {
    const noJitter = () => 0;
    expect(retryAfterFailureMs(0, undefined, noJitter)).toBe(1000);
    expect(retryAfterFailureMs(3, undefined, noJitter)).toBe(8000);
    expect(retryAfterFailureMs(0, 7, noJitter)).toBe(7000);
    expect(retryAfterFailureMs(5, 7, noJitter)).toBe(10_000);
  });
});

describe('feedRetryMs (the waiting room after its live feed failed)', () => {
  it('starts a feed again after a failure that says "not now", backing off, and never after one that says "no"', () => {
    const noJitter = () => 0;
    expect(feedRetryMs({ code: 'SERVICE_UNAVAILABLE' }, 0, noJitter)).toBe(1000);
    expect(feedRetryMs({ code: 'NETWORK' }, 2, noJitter)).toBe(4000);
    expect(feedRetryMs({ code: 'RATE_LIMITED', retryAfterSeconds: 30 }, 0, noJitter)).toBe(30_000);
    expect(feedRetryMs({ code: 'UNAUTHENTICATED' }, 0, noJitter)).toBeUndefined();
    expect(feedRetryMs({ code: 'NOT_FOUND' }, 0, noJitter)).toBeUndefined();
    expect(feedRetryMs(undefined, 0, noJitter)).toBeUndefined();
  });
});

describe('the server clock', () => {
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toUTCString();

  it('reads 0 until an answer came, then narrows the offset from each Date header to within the answers’ spread', () => {
    const clock = new ServerClock();
    expect(clock.offset()).toBe(0);
    // The browser runs 4 minutes 10.3 s fast; answers take 40 ms and arrive at different points of a second.
    const skew = 250_300;
    for (const serverMs of [1_000_000_120, 1_000_003_480, 1_000_007_910, 1_000_012_650]) {
      clock.observe(second(serverMs), serverMs + skew - 20, serverMs + skew + 20);
    }
    expect(Math.abs(clock.offset() + skew)).toBeLessThan(150);
    clock.observe(null, 0, 0);
    clock.observe('not a date', 0, 0);
    expect(Math.abs(clock.offset() + skew)).toBeLessThan(150);
  });

  it('starts over when an answer cannot fit what was known (the browser clock jumped)', () => {
    const clock = new ServerClock();
    clock.observe(second(2_000_000_000), 2_000_000_000, 2_000_000_050);
    expect(Math.abs(clock.offset())).toBeLessThan(1000);
    // The laptop's clock was stepped back an hour.
    clock.observe(second(2_000_010_000), 2_000_010_000 - 3_600_000, 2_000_010_050 - 3_600_000);
    expect(Math.abs(clock.offset() - 3_600_000)).toBeLessThan(1000);
  });

  it('bounds the server’s time now from below: never past it, and -Infinity until an answer came', () => {
    const clock = new ServerClock();
    expect(clock.earliestNow()).toBe(-Infinity);
    const skew = 250_300; // the browser runs fast
    const serverMs = 1_000_000_720;
    clock.observe(second(serverMs), serverMs + skew - 20, serverMs + skew + 20);
    vi.spyOn(Date, 'now').mockReturnValue(serverMs + skew + 5_000);
    try {
      expect(clock.earliestNow()).toBeLessThanOrEqual(serverMs + 5_000);
      expect(clock.earliestNow()).toBeGreaterThan(serverMs + 5_000 - 1_100);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('bounds the server’s time now from above: never before it, and the browser’s clock until an answer came', () => {
    const clock = new ServerClock();
    vi.spyOn(Date, 'now').mockReturnValue(1_000_000_000);
    try {
      expect(clock.latestNow()).toBe(1_000_000_000);
      const skew = -90_000; // the browser runs slow
      const serverMs = 1_000_000_720;
      clock.observe(second(serverMs), serverMs + skew - 20, serverMs + skew + 20);
      vi.spyOn(Date, 'now').mockReturnValue(serverMs + skew + 5_000);
      expect(clock.latestNow()).toBeGreaterThanOrEqual(serverMs + 5_000);
      expect(clock.latestNow()).toBeLessThan(serverMs + 5_000 + 1_100);
    } finally {
      vi.restoreAllMocks();
    }
  });
  it('starts over when the browser clock is stepped forward, as when it is stepped back', () => {
    const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toUTCString();
    const clock = new ServerClock();
    clock.observe(second(2_000_000_000), 2_000_000_000, 2_000_000_050);
    expect(Math.abs(clock.offset())).toBeLessThan(1000);
    // The laptop's clock was stepped an hour forward: the server now reads an hour behind it.
    clock.observe(second(2_000_010_000), 2_000_010_000 + 3_600_000, 2_000_010_050 + 3_600_000);
    expect(Math.abs(clock.offset() + 3_600_000)).toBeLessThan(1000);
  });
});

describe('cancelling a ticket twice', () => {
  const sent = Date.parse('2030-01-01T12:00:10.400Z');
  it('is no refund when the answer was cancelled before the request was sent', () => {
    expect(cancelledBefore('2030-01-01T12:00:05.000Z', sent)).toBe(true);
    expect(cancelledBefore('2030-01-01T12:00:09.000Z', sent)).toBe(true);
  });

  it('is this request’s refund when cancelled in the second of the send or after (cancelledAt is rounded down)', () => {
    expect(cancelledBefore('2030-01-01T12:00:10.000Z', sent)).toBe(false);
    expect(cancelledBefore('2030-01-01T12:00:11.000Z', sent)).toBe(false);
    expect(cancelledBefore(null, sent)).toBe(false);
    expect(cancelledBefore('2030-01-01T12:00:05.000Z', -Infinity)).toBe(false);
  });
});

describe('the turn ending', () => {
  it('is said once, as the ACTIVE countdown crosses one minute; not on a page opened with less left, nor at the end', () => {
    const turn = 120_000;
    expect(turnEndingWarning(61_000, 60_000, turn)).toMatch(/One minute left/);
    expect(turnEndingWarning(60_500, 59_500, turn)).toMatch(/One minute left/);
    expect(turnEndingWarning(59_000, 58_000, turn)).toBeUndefined();
    expect(turnEndingWarning(undefined, 30_000, turn)).toBeUndefined();
    expect(turnEndingWarning(120_000, 119_000, turn)).toBeUndefined();
    expect(turnEndingWarning(61_000, 0, turn)).toBeUndefined();
  });

  it('is not said in a turn of a minute or less, though its countdown first reads a little above a minute (the server clock’s estimate)', () => {
    expect(turnEndingWarning(60_700, 59_700, 60_700)).toBeUndefined();
    expect(turnEndingWarning(60_300, 59_300, 60_900)).toBeUndefined();
  });
});

describe('moving through a seat map with the keyboard', () => {
  // 10 seats, 4 to a row: 0 1 2 3 / 4 5 6 7 / 8 9
  const move = (key: string, index: number, ctrlKey = false) => seatKeyTarget(key, ctrlKey, index, 10, 4);

  it('moves by a seat, by a row, and to the ends of the row or of the map', () => {
    expect([move('ArrowRight', 5), move('ArrowLeft', 5), move('ArrowDown', 5), move('ArrowUp', 5)]).toEqual([6, 4, 9, 1]);
    // Along the seats in order: the row's end leads to the next row's start.
    expect([move('ArrowRight', 3), move('ArrowLeft', 4)]).toEqual([4, 3]);
    expect([move('Home', 6), move('End', 5), move('End', 8)]).toEqual([4, 7, 9]);
    expect([move('Home', 6, true), move('End', 1, true)]).toEqual([0, 9]);
  });

  it('stays put past an edge, and leaves other keys alone', () => {
    expect([move('ArrowLeft', 0), move('ArrowUp', 2), move('ArrowRight', 9), move('ArrowDown', 7), move('End', 9), move('Home', 0)]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect([move('Enter', 3), move('Tab', 3), move(' ', 3)]).toEqual([undefined, undefined, undefined]);
  });
});

describe('the seat map\'s failure note', () => {
  it('says HOLD_LIMIT_REACHED only while the fan holds as many seats as then, "cannot reach the server" until the connection is back; any other failure until the next choice', () => {
    const limit = { problem: { code: 'HOLD_LIMIT_REACHED' }, seatId: '1', heldThen: 4, reconnectsThen: 0, readsThen: 1 };
    expect(seatFailureShown(limit, 4, 0)).toEqual({ code: 'HOLD_LIMIT_REACHED' });
    // One released, paid or run out: a seat may be held again, and the note would say otherwise.
    expect(seatFailureShown(limit, 3, 0)).toBeUndefined();
    expect(seatFailureShown(limit, 0, 0)).toBeUndefined();
    expect(seatFailureShown({ problem: { code: 'SEAT_UNAVAILABLE' }, seatId: '1', heldThen: 4, reconnectsThen: 0, readsThen: 1 }, 0, 1)).toEqual({ code: 'SEAT_UNAVAILABLE' });
    expect(seatFailureShown(undefined, 0, 0)).toBeUndefined();
    // The server out of reach: said until the connection is back, not after.
    const unreachable = { problem: { code: 'NETWORK' }, seatId: '1', heldThen: 1, reconnectsThen: 2, readsThen: 1 };
    expect(seatFailureShown(unreachable, 1, 2)).toEqual({ code: 'NETWORK' });
    expect(seatFailureShown(unreachable, 1, 3)).toBeUndefined();
  });

  it('says "someone else just took that seat" until the seat, read taken since or read again since, reads AVAILABLE', () => {
    const taken = { problem: { code: 'SEAT_UNAVAILABLE' }, seatId: '7', heldThen: 0, reconnectsThen: 0, readsThen: 1 };
    // The map still showing the seat free, as when the fan pressed it (its read again not answered yet), ends nothing.
    expect(followSeatFailure(taken, 'AVAILABLE', 1)).toBe(taken);
    expect(followSeatFailure(taken, undefined, 1)).toBe(taken);
    const seenTaken = followSeatFailure(taken, 'HELD', 1);
    expect(seenTaken).toEqual({ ...taken, takenSince: true });
    expect(followSeatFailure(seenTaken, 'RESERVED', 2)).toBe(seenTaken);
    expect(seatFailureShown(seenTaken, 0, 0)).toEqual({ code: 'SEAT_UNAVAILABLE' });
    // Its holder let it go: the note is over.
    expect(followSeatFailure(seenTaken, 'AVAILABLE', 1)).toBeUndefined();
    // Let go before the map's read again: that read has it AVAILABLE, and the note is over as well.
    expect(followSeatFailure(taken, 'AVAILABLE', 2)).toBeUndefined();
    // Other failures do not follow the seat.
    const limit = { problem: { code: 'HOLD_LIMIT_REACHED' }, seatId: '7', heldThen: 4, reconnectsThen: 0, readsThen: 1 };
    expect(followSeatFailure(followSeatFailure(limit, 'HELD', 1), 'AVAILABLE', 2)).toBe(limit);
  });

  it('reads a map again, as refusals ask, at once only when its last read is a spacing (10 s) old: a fan racing for seats does not fetch a stadium map at every refusal', () => {
    expect(MAP_REREAD_SPACING_MS).toBe(10_000);
    expect(rereadDelayMs(undefined, 5_000)).toBe(0);
    expect(rereadDelayMs(1_000, 1_200)).toBe(9_800);
    expect(rereadDelayMs(1_000, 11_000)).toBe(0);
    expect(rereadDelayMs(1_000, 60_000)).toBe(0);
  });
});

describe('My tickets', () => {
  it('lists the shows to come first, soonest first and seat by seat, then those started or cancelled, latest first', () => {
    const ticket = (code: string, startsAt: string, number: number, status = 'CONFIRMED') => ({ code, status, seat: { number, schedule: { startsAt } } });
    const now = Date.parse('2030-01-03T12:00:00Z');
    // As the API lists them: newest purchase first.
    const bought = [
      ticket('past', '2030-01-02T19:00:00Z', 1),
      ticket('jan10-2', '2030-01-10T19:00:00Z', 2),
      ticket('jan10-1', '2030-01-10T19:00:00Z', 1),
      ticket('cancelled', '2030-01-20T19:00:00Z', 1, 'CANCELLED'),
      ticket('jan5', '2030-01-05T19:00:00Z', 3),
      ticket('older-past', '2030-01-01T19:00:00Z', 1),
    ];
    expect(inShowOrder(bought, now).map((t) => t.code)).toEqual(['jan5', 'jan10-1', 'jan10-2', 'cancelled', 'past', 'older-past']);
  });
  it('lists a cancelled ticket of a show to come after every ticket still to come', () => {
    const ticket = (code: string, startsAt: string, number: number, status = 'CONFIRMED') => ({ code, status, seat: { number, schedule: { startsAt } } });
    const now = Date.parse('2030-01-03T12:00:00Z');
    const bought = [ticket('jan10', '2030-01-10T19:00:00Z', 1), ticket('cancelled-jan4', '2030-01-04T19:00:00Z', 2, 'CANCELLED'), ticket('past', '2030-01-02T19:00:00Z', 1)];
    expect(inShowOrder(bought, now).map((t) => t.code)).toEqual(['jan10', 'cancelled-jan4', 'past']);
  });
});

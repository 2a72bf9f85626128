import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode, type RefObject } from 'react';
import { useMutation, useQuery } from 'urql';
import { Checkout, failureShown, paymentKey, payOutcome, PendingPayments, type CartFailure } from '../logic/checkout';
import { isTransient, type Problem } from '../logic/errors';
import { holdsGoneByRunningOut, holdsRanOutWords } from '../logic/seats';
import { serverClock } from '../logic/server-clock';
import { formatCountdown, formatDateTime, remainingMs } from '../logic/time';
import { Me, ME_CONTEXT, Pay, type HoldItem, type PaymentResult } from '../operations';
import { useAnnounce } from './announcer';
import { ErrorNote } from './errors';
import { refocus } from './focus';
import { useNow } from './hooks';
import { tellOtherTabs } from './other-tabs';
import { settledHolds, settling, useReleaseHold } from './release-hold';
import { currentUserId } from '../session';
import { tabStorage } from '../tab-storage';
import { pointsWords } from '../logic/points';
import { countWords } from '../logic/numbers';

/**
 * A payment with no answer (the holds left unsettled) may have gone through: pressing Pay again is
 * safe, and settles it. Worded to stay true once the server answers again (the page says, once, while
 * it does not).
 */
const PAY_WORDS = { NETWORK: 'The payment got no answer, so it may or may not have gone through. To find out, press Pay again: it repeats the same payment, so you are never charged twice.' };

/**
 * The fan's holds for this concert, each with its countdown, and paying for them all. Holds can be
 * paid without ACTIVE (only live holds are needed), so this shows whatever the waiting-room state.
 * Paying uses the idempotency key of the set of holds (see logic/checkout.ts): the button is
 * aria-disabled while paying (a disabled button would drop the keyboard focus to the page), a second
 * click is ignored, and a retry after an error or no answer, or another tab paying the same seats at
 * once, sends the same key: one payment, and each tab shows it.
 */
export function Cart({
  concertId,
  holds,
  holdsKnown,
  onHoldsChanged,
  paying,
  onPaying,
  onPayEnded,
  onPayFailed,
  onPaid,
  focusWhenGone,
  entries,
  unsettled,
  onUnsettled,
}: {
  concertId: string;
  holds: readonly HoldItem[];
  /** The fan's holds have been read (`holds` is not just empty for want of an answer). */
  holdsKnown: boolean;
  onHoldsChanged: () => void;
  /** A payment from this cart is on its way (set by onPaying, cleared by onPayEnded). */
  paying: boolean;
  /** A payment is sent (it may end the fan's turn, answered or not). */
  onPaying: () => void;
  /** The payment sent is answered (after onPaid or onPayFailed), or failed to be. */
  onPayEnded: () => void;
  /**
   * The payment did not pay: `refused` for sure (the turn, if any, goes on), or not known to (a
   * transient failure or no answer, which may have paid).
   */
  onPayFailed: (refused: boolean) => void;
  onPaid: (payment: PaymentResult) => void;
  /** The id of the heading that takes the focus when the cart goes (paid or emptied) while it had it. */
  focusWhenGone: string;
  /** How often the fan entered the line from this page: a new entry ends the note of holds that ran out. */
  entries: number;
  /**
   * The holds of a payment whose answer never came: it may have gone through (and the holds with it),
   * so they stay on screen with the Pay button until a retry, with the same key, settles it (kept by
   * the page, whose seat maps then release none of them either).
   */
  unsettled: readonly HoldItem[] | null;
  onUnsettled: (holds: readonly HoldItem[] | null) => void;
}) {
  const now = useNow();
  const checkout = useRef(new Checkout()).current;
  const pending = useRef(new PendingPayments(tabStorage(), `ct:paying:${currentUserId() ?? ''}`)).current;
  const [, pay] = useMutation(Pay);
  const releaseHeld = useReleaseHold();
  const [failure, setFailure] = useState<CartFailure<Problem> | undefined>();
  const live = holds.filter((hold) => remainingMs(hold.expiresAt, now) > 0);
  const shown = unsettled ?? live;
  const total = shown.reduce((sum, hold) => sum + hold.seat.price, 0);
  // A payment whose outcome this tab never heard: sent before a reload, or answered SERVICE_UNAVAILABLE
  // (a commit MySQL did not confirm; or Redis away, whose holds may then go with its data). Once its
  // holds are read gone, it is asked again with its key (a payment made with it is answered, never
  // made twice) and shown; after a failure said here, what became of it replaces what was said (its
  // holds gone unpaid: HOLD_NOT_FOUND). While they are still held it may yet be under way (a slow
  // commit): the cart shows them, and pressing Pay sends the same key.
  const askWhenGone = useRef<{ holdIds: readonly string[]; failureSaid: boolean } | undefined | null>(null);
  if (askWhenGone.current === null) {
    const holdIds = pending.of(concertId);
    askWhenGone.current = holdIds && { holdIds, failureSaid: false };
  }
  // Such a payment, sent before this page was loaded: the account's other tabs wait for word of it,
  // which its answer, lost with the page, can no longer give.
  useEffect(() => {
    if (pending.of(concertId)) tellOtherTabs('payUnanswered', concertId);
  }, [pending, concertId]);
  useEffect(() => {
    const asked = askWhenGone.current;
    if (!asked || !holdsKnown || paying || holds.some((hold) => asked.holdIds.includes(hold.id))) return;
    askWhenGone.current = undefined;
    const { holdIds, failureSaid } = asked;
    void pay({ holdIds: [...holdIds], idempotencyKey: paymentKey(holdIds) }).then((result) => {
      const { payment, problem } = payOutcome(result.data?.pay, result.error);
      if (payment) {
        onPaid(payment);
        tellOtherTabs('payment', concertId);
      }
      if (problem && isTransient(problem.code)) return;
      pending.settled(concertId);
      if (failureSaid) setFailure(problem && { problem, holdIds });
    });
  }, [holdsKnown, holds, paying, concertId, pending, pay, onPaid]);
  // The balance the account bar shows (one query, shared): once it covers the cart (points charged,
  // here or in another tab), "not enough points" no longer holds, and goes; a balance still short keeps it.
  const [me] = useQuery({ query: Me, context: ME_CONTEXT });
  const points = me.data?.me?.points;
  useEffect(() => {
    if (points !== undefined && points >= total) setFailure((failed) => (failed?.problem.code === 'INSUFFICIENT_POINTS' ? undefined : failed));
  }, [points, total]);
  const { note: ranOutNote, runningOutNow } = useRanOutNote(holds, live, onHoldsChanged, entries);
  // Paid or emptied, the cart goes, and with it the button that had the focus.
  const empty = shown.length === 0;
  const error = failureShown(
    failure,
    shown.map((hold) => hold.id),
  );
  // Emptied by a hold running out, the note saying so takes it, where the cart was: the fan learns what
  // happened and goes on from there, not from the page's top.
  const emptiedByRunningOut = empty && runningOutNow;
  useEffect(() => {
    if (empty) refocus(document.getElementById(emptiedByRunningOut ? RAN_OUT_NOTE_ID : focusWhenGone));
  }, [empty, emptiedByRunningOut, focusWhenGone]);
  // One seat released (or run out) of several: the focus its Release button had goes to Pay, the cart's next step.
  const payButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!empty) refocus(payButton.current);
  }, [shown.length, empty]);

  if (empty) {
    return (
      <>
        {ranOutNote}
        <ErrorNote problem={error} />
      </>
    );
  }

  async function payAll() {
    const payingFor = shown;
    const key = checkout.begin(payingFor.map((hold) => hold.id));
    if (!key) return; // already paying: a double click never pays twice
    const unsettle = settling(payingFor.map((hold) => hold.id));
    setFailure(undefined);
    onPaying();
    // The account paying, told its outcome even if this tab logs out before the answer.
    const userId = currentUserId() ?? undefined;
    tellOtherTabs('paying', concertId, userId);
    // The fan pays now: what this sends is the payment to follow up.
    askWhenGone.current = undefined;
    pending.sent(concertId, payingFor.map((hold) => hold.id));
    let problem: Problem | undefined;
    try {
      const result = await pay({ holdIds: payingFor.map((hold) => hold.id), idempotencyKey: key });
      const outcome = payOutcome(result.data?.pay, result.error);
      problem = outcome.problem;
      if (outcome.payment) {
        onPaid(outcome.payment);
        tellOtherTabs('payment', concertId, userId);
      }
    } catch {
      problem = { code: 'NETWORK' };
    }
    const code = problem?.code;
    checkout.finish();
    // Paid, or refused for sure: nothing to ask again after a reload.
    if (!code || !isTransient(code)) pending.settled(concertId);
    // A transient failure (no answer; SERVICE_UNAVAILABLE: a commit MySQL did not confirm) may have paid.
    // Before the payment ends: the news held back meanwhile is said knowing it.
    if (problem) {
      // Refused, the holds are the fan's still: gone later, they ran out.
      if (!isTransient(code)) unsettle();
      onPayFailed(!isTransient(code));
      tellOtherTabs(isTransient(code) ? 'payUnanswered' : 'payRefused', concertId, userId);
    }
    onPayEnded();
    setFailure(problem && { problem, holdIds: payingFor.map((hold) => hold.id) });
    if (code === 'NETWORK') {
      onUnsettled(payingFor);
    } else {
      if (problem && isTransient(code)) askWhenGone.current = { holdIds: payingFor.map((hold) => hold.id), failureSaid: true };
      onUnsettled(null);
      onHoldsChanged();
    }
  }

  async function release(hold: HoldItem) {
    if (paying) return;
    setFailure(undefined);
    // Gone already (lapsed, or a double click released it) is as the fan asked; the re-read shows it.
    const { problem } = await releaseHeld(hold);
    if (problem) setFailure({ problem, holdIds: [hold.id] });
    onHoldsChanged();
  }

  return (
    <>
      {ranOutNote}
      <section className="cart card" aria-labelledby="cart-title">
        <h3 id="cart-title">Your held seats</h3>
        <ul className="holds">
          {shown.map((hold) => {
            const left = remainingMs(hold.expiresAt, now);
            return (
              <li key={hold.id} data-hold={hold.id}>
                <span>
                  Seat {hold.seat.number}
                  <span className="muted"> · {formatDateTime(hold.seat.schedule.startsAt)}</span> · {pointsWords(hold.seat.price)}
                </span>
                <span className={holdCountdownClass(left)} role="timer" aria-label={`hold ends in ${formatCountdown(left)}`}>
                  {formatCountdown(left)}
                </span>
                {!unsettled && (
                  <button type="button" className="secondary" onClick={() => void release(hold)} aria-disabled={paying} aria-label={`Release seat ${hold.seat.number}`}>
                    Release
                  </button>
                )}
              </li>
            );
          })}
        </ul>
        <button ref={payButton} type="button" className="pay" onClick={() => void payAll()} aria-disabled={paying} aria-busy={paying} aria-label={`Pay ${pointsWords(total)}`}>
          {paying ? 'Paying…' : `Pay ${pointsWords(total)}`}
        </button>
        <ErrorNote problem={error} words={unsettled ? PAY_WORDS : undefined} />
      </section>
      <CheckoutBar holds={shown} now={now} payButton={payButton} />
    </>
  );
}

/**
 * While the cart's Pay button is out of sight (a fan deep in a large seat map, on a phone thousands of
 * pixels below it), a bar at the foot of the screen says how many seats are held and when the first
 * runs out, and takes the fan to the cart. It names no payment: the cart's one Pay button pays.
 */
function CheckoutBar({ holds, now, payButton }: { holds: readonly HoldItem[]; now: number; payButton: RefObject<HTMLButtonElement | null> }) {
  const [inSight, setInSight] = useState(true);
  useEffect(() => {
    const button = payButton.current;
    if (!button || typeof IntersectionObserver === 'undefined') return;
    // The newest entry: a busy page may deliver several changes at once, oldest first.
    const observer = new IntersectionObserver((entries) => setInSight(entries.at(-1)?.isIntersecting ?? true));
    observer.observe(button);
    return () => observer.disconnect();
  }, [payButton]);
  // The page's foot stays reachable, and a seat the keyboard moves to is scrolled clear of the bar.
  useEffect(() => {
    document.documentElement.classList.toggle('with-checkout-bar', !inSight);
    return () => document.documentElement.classList.remove('with-checkout-bar');
  }, [inSight]);
  if (inSight) return null;
  const soonest = Math.min(...holds.map((hold) => remainingMs(hold.expiresAt, now)));
  const goToCart = () => {
    payButton.current?.scrollIntoView({ block: 'center' });
    payButton.current?.focus({ preventScroll: true });
  };
  return (
    <div className="checkout-bar" role="region" aria-label="Your held seats, in short">
      <span>
        {countWords(holds.length, 'seat')} held · <span className={holdCountdownClass(soonest)}>{formatCountdown(soonest)}</span> left
      </span>
      <button type="button" onClick={goToCart}>
        Go to checkout
      </button>
    </div>
  );
}

/** A hold's countdown, shown urgent in its last 30 s (in the cart and in the checkout bar alike). */
const holdCountdownClass = (leftMs: number) => (leftMs < 30_000 ? 'countdown urgent' : 'countdown');

const RAN_OUT_NOTE_ID = 'hold-ran-out';

/**
 * Holds that ran out: the holds are read again (the seat map hears of it through seatChanged), and it
 * is said in the live region and in the page (the cart may be empty now) until the fan holds another
 * seat. Each is said aloud as it runs out; the page's note names every seat that ran out since it
 * showed (one running out after another adds to it, not replaces it).
 */
function useRanOutNote(holds: readonly HoldItem[], live: readonly HoldItem[], onHoldsChanged: () => void, entries: number): { note: ReactNode; runningOutNow: boolean } {
  const announce = useAnnounce();
  const [said, setSaid] = useState<{ seats: readonly number[]; holdsThen: ReadonlySet<string> } | null>(null);
  const liveIds = useRef<string[]>([]);
  liveIds.current = live.map((hold) => hold.id);
  // Each hold's running out is told once, whichever way it was found.
  const told = useRef(new Set<string>());
  const tell = useCallback(
    (ranOut: readonly HoldItem[]): boolean => {
      const news = ranOut.filter((hold) => !told.current.has(hold.id));
      if (news.length === 0) return false;
      for (const hold of news) told.current.add(hold.id);
      const seats = news.map((hold) => hold.seat.number);
      announce(holdsRanOutWords(seats));
      setSaid((before) => ({ seats: [...new Set([...(before?.seats ?? []), ...seats])].sort((a, b) => a - b), holdsThen: new Set(liveIds.current) }));
      return true;
    },
    [announce],
  );
  // Run out by this tab's clock: the holds are read again.
  const ranOut = holds.filter((hold) => !live.includes(hold));
  const ranOutRef = useRef(ranOut);
  ranOutRef.current = ranOut;
  const ranOutIds = ranOut.map((hold) => hold.id).join();
  useEffect(() => {
    if (ranOutIds !== '' && tell(ranOutRef.current)) onHoldsChanged();
  }, [ranOutIds, tell, onHoldsChanged]);
  // Or gone from a read of the holds before this tab's clock said so (holdsGoneByRunningOut), found
  // in the render of that read, like those above.
  const lastRead = useRef(holds);
  const goneByRead = useMemo(() => holdsGoneByRunningOut(lastRead.current, holds, settledHolds, serverClock.latestNow()), [holds]);
  useEffect(() => {
    lastRead.current = holds;
    tell(goneByRead);
  }, [holds, goneByRead, tell]);
  // A hold made since (not a count: seats released or paid meanwhile) ends the note for good: emptied
  // again, the cart must not bring it back.
  const heldAnother = said !== null && live.some((hold) => !said.holdsThen.has(hold.id));
  useEffect(() => {
    if (heldAnother) setSaid(null);
  }, [heldAnother]);
  // So does entering the line again: the note was of the last turn.
  useEffect(() => setSaid(null), [entries]);
  // Shown from the render in which a hold is found run out (said aloud just after it, and kept in
  // `said` from then on).
  const runningOut = [...ranOut, ...goneByRead].filter((hold) => !told.current.has(hold.id));
  const seats = [...new Set([...(said && !heldAnother ? said.seats : []), ...runningOut.map((hold) => hold.seat.number)])].sort((a, b) => a - b);
  const note =
    seats.length === 0 ? null : (
      <p className="notice" id={RAN_OUT_NOTE_ID} tabIndex={-1} data-testid="hold-ran-out">
        {holdsRanOutWords(seats)}
      </p>
    );
  return { note, runningOutNow: runningOut.length > 0 };
}

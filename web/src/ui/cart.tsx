import { useEffect, useRef, useState } from 'react';
import { useMutation } from 'urql';
import { Checkout } from '../logic/checkout';
import { errorCode, problemOf, type Problem } from '../logic/errors';
import { formatCountdown, formatDateTime, remainingMs } from '../logic/time';
import { Pay, ReleaseHold, type HoldItem, type PaymentResult } from '../operations';
import { ErrorNote } from './errors';
import { useNow } from './hooks';

/** A payment with no answer (the holds left unsettled) may have gone through: pressing Pay again is safe, and settles it. */
const PAY_WORDS = { NETWORK: 'Cannot reach the server, so the payment may or may not have gone through. Check your connection and press Pay again: it repeats the same payment, so you are never charged twice.' };

/**
 * The fan's holds for this concert, each with its countdown, and paying for them all. Holds can be
 * paid without ACTIVE (only live holds are needed), so this shows whatever the waiting-room state.
 * Paying uses one idempotency key per checkout (see logic/checkout.ts): the button is disabled while
 * paying, a second click is ignored, and a retry after an error or no answer reuses the key.
 */
export function Cart({ holds, onHoldsChanged, onPaid }: { holds: readonly HoldItem[]; onHoldsChanged: () => void; onPaid: (payment: PaymentResult) => void }) {
  const now = useNow();
  const checkout = useRef(new Checkout()).current;
  const [, pay] = useMutation(Pay);
  const [, releaseHold] = useMutation(ReleaseHold);
  const [paying, setPaying] = useState(false);
  const [error, setError] = useState<Problem | undefined>();
  // The holds of a payment whose answer never came: it may have gone through (and the holds with it),
  // so they stay on screen with the Pay button until a retry, with the same key, settles it.
  const [unsettled, setUnsettled] = useState<readonly HoldItem[] | null>(null);
  const live = holds.filter((hold) => remainingMs(hold.expiresAt, now) > 0);
  const expired = live.length !== holds.length;
  const shown = unsettled ?? live;

  useEffect(() => {
    // A hold ran out: read the holds again (the seat map hears of it through seatChanged).
    if (expired) onHoldsChanged();
  }, [expired, onHoldsChanged]);

  if (shown.length === 0) return null;
  const total = shown.reduce((sum, hold) => sum + hold.seat.price, 0);

  async function payAll() {
    const payingFor = shown;
    const key = checkout.begin(payingFor.map((hold) => hold.id));
    if (!key) return; // already paying: a double click never pays twice
    setPaying(true);
    setError(undefined);
    let code: string | undefined;
    let problem: Problem | undefined;
    try {
      const result = await pay({ holdIds: payingFor.map((hold) => hold.id), idempotencyKey: key });
      const payment = result.data?.pay;
      code = payment ? undefined : (errorCode(result.error) ?? 'NETWORK');
      problem = payment ? undefined : (problemOf(result.error) ?? { code: 'NETWORK' });
      checkout.finish(Boolean(payment) || code === 'IDEMPOTENCY_KEY_REUSED');
      if (payment) onPaid(payment);
    } catch {
      code = 'NETWORK';
      problem = { code };
      checkout.finish(false);
    }
    setPaying(false);
    setError(problem);
    if (code === 'NETWORK') {
      setUnsettled(payingFor);
    } else {
      setUnsettled(null);
      onHoldsChanged();
    }
  }

  async function release(hold: HoldItem) {
    setError(undefined);
    const result = await releaseHold({ holdId: hold.id });
    const problem = problemOf(result.error);
    // HOLD_NOT_FOUND: gone already (lapsed, or a double click released it), as the fan asked; the re-read shows it.
    if (problem && problem.code !== 'HOLD_NOT_FOUND') setError(problem);
    onHoldsChanged();
  }

  return (
    <section className="cart card" aria-labelledby="cart-title">
      <h3 id="cart-title">Your held seats</h3>
      <ul className="holds">
        {shown.map((hold) => {
          const left = remainingMs(hold.expiresAt, now);
          return (
            <li key={hold.id} data-hold={hold.id}>
              <span>
                Seat {hold.seat.number}
                <span className="muted"> · {formatDateTime(hold.seat.schedule.startsAt)}</span> · {hold.seat.price} points
              </span>
              <span className={left < 30_000 ? 'countdown urgent' : 'countdown'} aria-label={`hold ends in ${formatCountdown(left)}`}>
                {formatCountdown(left)}
              </span>
              {!unsettled && (
                <button type="button" className="secondary" onClick={() => void release(hold)} disabled={paying} aria-label={`Release seat ${hold.seat.number}`}>
                  Release
                </button>
              )}
            </li>
          );
        })}
      </ul>
      <button type="button" className="pay" onClick={() => void payAll()} disabled={paying} aria-busy={paying} aria-label={`Pay ${total} points`}>
        {paying ? 'Paying…' : `Pay ${total} points`}
      </button>
      <ErrorNote problem={error} words={unsettled ? PAY_WORDS : undefined} />
    </section>
  );
}

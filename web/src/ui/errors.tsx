import { useLayoutEffect, useRef, useState } from 'react';
import { noteText, problemOf, RATE_LIMIT_OVER, RATE_LIMITED_WAIT, waitWords, type ErrorLike, type Problem } from '../logic/errors';
import { serverClock } from '../logic/server-clock';
import { useNow, useReach } from './hooks';

/**
 * An operation's error in plain words, announced at once (role="alert"); nothing when there is none.
 * Give the error itself, or a kept `problem` (code and retry delay), or just a `code`; `words`
 * overrides the message for a code where the context says more (a ticket's NOT_FOUND).
 *
 * One failure (the server busy, a rate limit) can show in several places at once (the cart, the
 * holds, the header's charge): each shows it beside what it concerns, but only the note that said it
 * first is an alert, so a screen reader says it once. The others give up the role before the browser
 * reports the change (a layout effect, in the same task as the insertion). Only for the same text
 * said within SAME_FAILURE_MS: a later failure that reads alike (a payment refused after a read
 * was) is news, and said again.
 */
export function ErrorNote({
  error,
  code,
  problem,
  words,
  id,
  read = false,
}: {
  error?: ErrorLike | null;
  code?: string;
  problem?: Problem;
  words?: Partial<Record<string, string>>;
  id?: string;
  /**
   * The note of a read the page makes again by itself: no answer at all (NETWORK) is not said here
   * while the page says it once (UNREACHABLE_NOTICE), which the fan would otherwise read beside every
   * read that failed, telling them to try again while the page does; nor once the server answers again.
   */
  read?: boolean;
}) {
  const reach = useReach();
  // The failure shown, when it came, and the server's recoveries counted then: once the server
  // answers again, "check your connection and try again" says so instead (a failure that says more,
  // such as a payment's unknown outcome, stays as it is).
  const failure = error ?? problem ?? code;
  const came = useRef({ failure, at: serverClock.now(), recoveries: reach.recoveries });
  const then = came.current.failure === failure ? came.current : { failure, at: serverClock.now(), recoveries: reach.recoveries };
  useLayoutEffect(() => {
    if (came.current.failure !== then.failure) came.current = then;
  }, [then]);
  const recoveriesThen = then.recoveries;
  const found = problem ?? (code ? { code } : problemOf(error));
  const text = noteText(found, { read, unreachable: reach.unreachable, recovered: reach.recoveries > recoveriesThen, words });
  const shown = text === undefined ? undefined : found;
  const note = useRef<HTMLParagraphElement>(null);
  // The text found said already by an earlier note; a new text is an alert until found so too.
  const [echoed, setEchoed] = useState<string | undefined>();
  useLayoutEffect(() => {
    const self = note.current;
    if (!self || text === undefined) return;
    Object.assign(self.dataset, { saidText: text, saidOrder: String((saidCount += 1)), saidAt: String(performance.now()) });
    setEchoed(saidJustBefore(self, text) ? text : undefined);
  }, [text]);
  if (!shown) return null;
  const wait = shown.code === 'RATE_LIMITED' && words?.RATE_LIMITED === undefined ? shown.retryAfterSeconds : undefined;
  const countdown = wait !== undefined && Number.isFinite(wait) && wait >= 0;
  return (
    // An alert is atomic by default: a screen reader would read the whole sentence again at each tick
    // of the countdown inside (its timer role is no live region everywhere), so only what changed counts.
    <p ref={note} id={id} className="error" role={echoed === text ? undefined : 'alert'} aria-atomic={countdown ? false : undefined} data-code={shown.code}>
      {countdown ? <RetryIn from={then.at} seconds={wait} /> : text}
    </p>
  );
}

/**
 * A rate limit's wait, counted down: said once as the note's sentence, the count itself a timer
 * (which screen readers do not read out as it changes), and when it is over the note says so.
 */
function RetryIn({ from, seconds }: { from: number; seconds: number }) {
  // The page's clock ticks on whole seconds: until its next tick it is behind `from`.
  const left = seconds * 1000 - Math.max(0, useNow() - from);
  if (left <= 0) return RATE_LIMIT_OVER;
  return (
    <>
      {RATE_LIMITED_WAIT} <span role="timer">{waitWords(left / 1000)}</span>.
    </>
  );
}

/** How close together two notes' same text is taken for one failure, said once. */
const SAME_FAILURE_MS = 2000;

/** Notes' texts in the order they were shown (data-said-order), so the one that said a text first keeps saying it. */
let saidCount = 0;

/**
 * Whether an alert on the page said the same text shortly before this note did. Compared by the text
 * each note was said with (data-said-text), not the text it shows: a note changing its text in this
 * same render shows the new text before its own effect has said it.
 */
function saidJustBefore(self: HTMLElement, text: string): boolean {
  const { saidOrder, saidAt } = self.dataset;
  for (const other of document.querySelectorAll<HTMLElement>('[role="alert"][data-said-text]')) {
    if (other === self || other.dataset.saidText !== text) continue;
    if (Number(other.dataset.saidOrder) < Number(saidOrder) && Number(saidAt) - Number(other.dataset.saidAt) < SAME_FAILURE_MS) return true;
  }
  return false;
}

import { countWords } from './numbers';

/** Time shown to a fan: countdowns to a deadline and rough waits. Pure functions, unit-tested. */

/** Milliseconds from `now` until `deadline` (an ISO date-time or epoch ms), never below 0. */
export function remainingMs(deadline: string | number, now: number): number {
  const end = typeof deadline === 'number' ? deadline : Date.parse(deadline);
  if (Number.isNaN(end)) return 0;
  return Math.max(0, end - now);
}

/**
 * A countdown as a clock: "4:05", "0:09", "1:02:03", and from a day on "3 days 4:05:06" (an opening
 * weeks away is not "700:00:00"). Rounds up, so it shows 0:00 only once the time is really over (a
 * hold shown as "0:00" while still alive would be a lie in the other direction).
 */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const ss = String(seconds).padStart(2, '0');
  const clock = hours > 0 || days > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${ss}` : `${minutes}:${ss}`;
  return days > 0 ? `${countWords(days, 'day')} ${clock}` : clock;
}

/** A countdown in words, for screen readers, as formatCountdown shows it: "3 days 4 hours 5 minutes 6 seconds", "4 minutes 5 seconds", "9 seconds". */
export function spokenCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const units: [number, string][] = [
    [Math.floor(total / 86_400), 'day'],
    [Math.floor((total % 86_400) / 3600), 'hour'],
    [Math.floor((total % 3600) / 60), 'minute'],
    [total % 60, 'second'],
  ];
  const parts = units.filter(([count]) => count > 0).map(([count, unit]) => countWords(count, unit));
  return parts.length > 0 ? parts.join(' ') : '0 seconds';
}

/** The longest a session's end is told ahead of it. */
const SESSION_WARNING_MS = 10 * 60_000;

/**
 * When to tell the fan their session is about to end (epoch ms): a quarter of its life before, at most
 * SESSION_WARNING_MS, so there is time to log in again while the place in line and the holds wait.
 */
export const sessionWarningAt = ({ issuedAt, expiresAt }: { issuedAt: number; expiresAt: number }): number => expiresAt - Math.min(SESSION_WARNING_MS, (expiresAt - issuedAt) / 4);

/** An estimated wait in plain words: "less than a minute", "about 3 minutes", "about 2 hours". */
export function formatWait(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return 'unknown for now';
  if (seconds < 60) return 'less than a minute';
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${countWords(minutes, 'minute')}`;
  return `about ${countWords(Math.round(seconds / 3600), 'hour')}`;
}

/**
 * A schedule's start, in the fan's locale and time zone, which it names ("…, 07:00 PM GMT+1"): the
 * venue may be in another zone than the fan, and the API gives no venue's zone to show its time in.
 */
export function formatDateTime(iso: string, locale?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(locale, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
}

/**
 * The sales-opening countdown ("Sales open in 4:32"), or undefined when sales are open (no opening
 * time, or it has passed and the clock reads 0: the next admission tick opens them).
 */
export function salesOpenCountdown(salesOpenAt: string | null | undefined, now: number): string | undefined {
  if (!salesOpenAt) return undefined;
  const left = remainingMs(salesOpenAt, now);
  if (left <= 0) return undefined;
  return `Sales open in ${formatCountdown(left)}`;
}

/** Time left at which a fan shopping is told their turn is ending (once, in the live region). */
export const TURN_ENDING_MS = 60_000;

/**
 * How far above the turn's real length its countdown may first read: the estimate of the server's
 * clock is off by up to about a second (see ServerClock).
 */
const CLOCK_SLACK_MS = 2_000;

/**
 * What to say as the ACTIVE countdown moves from `beforeMs` to `nowMs` left, in a turn first seen
 * with `firstMs` left: the warning once, when it crosses TURN_ENDING_MS (not when the page opens with
 * less than that left, nor in a turn of a minute or less: the countdown says so).
 */
export function turnEndingWarning(beforeMs: number | undefined, nowMs: number, firstMs: number): string | undefined {
  if (firstMs <= TURN_ENDING_MS + CLOCK_SLACK_MS) return undefined;
  if (beforeMs === undefined || beforeMs <= TURN_ENDING_MS || nowMs > TURN_ENDING_MS || nowMs <= 0) return undefined;
  return 'One minute left in your turn.';
}

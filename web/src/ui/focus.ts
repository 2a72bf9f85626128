/**
 * Where the keyboard focus goes when what had it leaves the page (the log-in form once logged in, the
 * Enter button once in line, the cart once paid or emptied): to a heading (tabIndex -1) that says where
 * the fan is now. Left alone, the browser drops it on <body>, and a keyboard or screen-reader user
 * starts again from the top of the page.
 */

/**
 * How long after what had the focus left the page it counts as lost: the render that removed it, and
 * the effects after it. Focus left on <body> for longer is where the fan let it be: a hold running out
 * minutes later must not pull it (and the page's scroll) to a heading.
 */
const LOST_FOR_MS = 1000;

let lastFocused: Element | null = null;
/** When what last had the focus was first seen gone from the page. */
let goneSince: number | undefined;

/** Notes the moment what had the focus is seen gone (not seen before: it goes now). */
function noteGone(): void {
  if (goneSince === undefined && lastFocused !== null && !lastFocused.isConnected) goneSince = performance.now();
}

/** Follows the focus, and notes when what had it leaves the page, for `refocus`; returns what stops it. */
export function followFocus(): () => void {
  const onFocusIn = (event: FocusEvent) => {
    lastFocused = event.target instanceof Element ? event.target : null;
    goneSince = undefined;
  };
  document.addEventListener('focusin', onFocusIn);
  const removals = new MutationObserver(noteGone);
  removals.observe(document.body, { childList: true, subtree: true });
  return () => {
    document.removeEventListener('focusin', onFocusIn);
    removals.disconnect();
  };
}

/**
 * Gives the focus to `target` if it was just lost (nothing has it because what last had it left the
 * page within LOST_FOR_MS), or if it is still on `from`, where the page put it before. Never takes it
 * from where the fan put it (a field, a seat, or nowhere by a click on the page), and never scrolls:
 * the move may come from no doing of the fan's (admission, a hold running out, another tab), and the
 * heading names where the fan is wherever the page is scrolled.
 */
export function refocus(target: HTMLElement | null | undefined, from?: Element | null): void {
  noteGone();
  const active = document.activeElement;
  const lost = (active === null || active === document.body) && goneSince !== undefined && performance.now() - goneSince < LOST_FOR_MS;
  if (lost || (from && active === from)) target?.focus({ preventScroll: true });
}

/**
 * After in-app navigation (a link only changes the hash: the page is not loaded again), gives the focus
 * to the new page's main heading, without scrolling, once it shows (the concert page shows it once the
 * concert is read): a screen-reader user hears where they are, and Tab goes on from there. `main`
 * holds the page last (the log-in form, when shown, comes before it). Not if the fan put the focus
 * elsewhere meanwhile; returns what stops waiting (the next navigation).
 */
export function focusPageHeading(main: HTMLElement): () => void {
  const from = document.activeElement;
  const take = (): boolean => {
    const heading = main.lastElementChild?.querySelector<HTMLElement>('h2');
    if (!heading) return false;
    const active = document.activeElement;
    if (active === null || active === document.body || active === from) heading.focus({ preventScroll: true });
    return true;
  };
  if (take()) return () => undefined;
  const shown = new MutationObserver(() => {
    if (take()) shown.disconnect();
  });
  shown.observe(main, { childList: true, subtree: true });
  return () => shown.disconnect();
}

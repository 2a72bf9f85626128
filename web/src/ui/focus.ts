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

/** A link of the page, as found again once the page is back: its href, and which of the page's links with that href. */
interface LinkPlace {
  href: string;
  nth: number;
}

/**
 * Per history entry (named in its state, `ctEntry`), the link that had the focus when the fan left it:
 * coming back to the entry (the browser's Back or Forward), the focus goes back to that link, not the
 * page's heading: in a long list, a keyboard user would start again from its top.
 */
const linkLeft = new Map<string, LinkPlace>();
let currentEntry: string | undefined;
/** The link to give the focus back to on the page just reached, if the fan had left it from one. */
let returnTo: LinkPlace | undefined;

const linksTo = (href: string): HTMLAnchorElement[] => Array.from(document.querySelectorAll<HTMLAnchorElement>('#main a[href]')).filter((link) => link.getAttribute('href') === href);

/**
 * The route changed (or the app started): notes the link the fan left the last entry from, and names
 * this one. Called before the new route renders, while that link still has the focus.
 */
export function enterHistoryEntry(): void {
  const active = document.activeElement;
  const href = active instanceof HTMLAnchorElement ? active.getAttribute('href') : null;
  // Only a link of the page itself: the header's are there on every page.
  const nth = href === null ? -1 : linksTo(href).indexOf(active as HTMLAnchorElement);
  if (currentEntry !== undefined && href !== null && nth >= 0) linkLeft.set(currentEntry, { href, nth });
  else if (currentEntry !== undefined) linkLeft.delete(currentEntry);
  const state: unknown = window.history.state;
  const named = typeof state === 'object' && state !== null && 'ctEntry' in state && typeof state.ctEntry === 'string' ? state.ctEntry : undefined;
  // A link opens a new entry, with no state: it gets a name (unique, not an order).
  currentEntry = named ?? `${Date.now()}-${Math.random()}`;
  if (named === undefined) window.history.replaceState({ ...(typeof state === 'object' ? state : {}), ctEntry: currentEntry }, '');
  returnTo = named === undefined ? undefined : linkLeft.get(named);
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

/** The heading of the page `main` shows (main holds the page last). */
export const pageHeading = (main: Element | null | undefined): HTMLElement | undefined => main?.lastElementChild?.querySelector<HTMLElement>('h2') ?? undefined;

/** How long a page come back to may take to show the link the fan left it from (its list read again) before its heading takes the focus instead. */
const RETURN_WAIT_MS = 2000;

/**
 * After in-app navigation (a link only changes the hash: the page is not loaded again), gives the focus
 * to the new page's main heading, without scrolling, once it shows (the concert page shows it once the
 * concert is read): a screen-reader user hears where they are, and Tab goes on from there. Back (or
 * Forward) to a page left from a link, that link takes it instead, scrolled into view if need be. `main`
 * holds the page last (the log-in form, when shown, comes before it). Not if the fan put the focus
 * elsewhere meanwhile; returns what stops waiting (the next navigation).
 */
export function focusPageHeading(main: HTMLElement): () => void {
  const from = document.activeElement;
  const back = returnTo;
  let waitingForLink = back !== undefined;
  const take = (): boolean => {
    const link = back ? linksTo(back.href)[back.nth] : undefined;
    const target = link ?? (waitingForLink ? undefined : pageHeading(main));
    if (!target) return false;
    const active = document.activeElement;
    if (active === null || active === document.body || active === from) target.focus({ preventScroll: !link });
    return true;
  };
  if (take()) return () => undefined;
  const shown = new MutationObserver(() => {
    if (take()) stop();
  });
  shown.observe(main, { childList: true, subtree: true });
  // Waiting for the link: the heading takes the focus once the wait is over, whatever changes by then.
  const giveUp = back
    ? setTimeout(() => {
        waitingForLink = false;
        if (take()) stop();
      }, RETURN_WAIT_MS)
    : undefined;
  const stop = () => {
    shown.disconnect();
    clearTimeout(giveUp);
  };
  return stop;
}

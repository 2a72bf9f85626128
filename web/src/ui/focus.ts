/**
 * Where the keyboard focus goes when what had it leaves the page (the log-in form once logged in, the
 * Enter button once in line, the cart once paid or emptied): to a heading (tabIndex -1) that says where
 * the fan is now. Left alone, the browser drops it on <body>, and a keyboard or screen-reader user
 * starts again from the top of the page.
 */

let lastFocused: Element | null = null;

/** Follows the focus, for `refocus`; returns what stops it. */
export function followFocus(): () => void {
  const onFocusIn = (event: FocusEvent) => {
    lastFocused = event.target instanceof Element ? event.target : null;
  };
  document.addEventListener('focusin', onFocusIn);
  return () => document.removeEventListener('focusin', onFocusIn);
}

/**
 * Gives the focus to `target` if it was lost (nothing has it because what last had it is gone from the
 * page), or if it is still on `from`, where the page put it before. Never takes it from where the fan
 * put it (a field, a seat, or nowhere by a click on the page).
 */
export function refocus(target: HTMLElement | null | undefined, from?: Element | null): void {
  const active = document.activeElement;
  const lost = (active === null || active === document.body) && lastFocused !== null && !lastFocused.isConnected;
  if (lost || (from && active === from)) target?.focus();
}

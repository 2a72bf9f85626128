/**
 * Keeps the seat a fan just pressed where it is on screen while the page above it changes: the first
 * hold puts the cart above the maps, and each hold or lapse changes its height. Browsers anchor the
 * scroll position themselves when content above the view changes, but not at the top of a page
 * (scroll position 0): there the map moved down a cart's height under the pointer, and a second click
 * at the same spot held another seat, or fell on a heading.
 *
 * Followed for a few seconds after the press (the hold's answer, then the fan's holds read again),
 * until the fan presses anything else (a Release or Pay button in the cart must not move under the
 * pointer for the seat's sake); a scroll by the fan moves the mark with it, so only changes of the
 * page's layout are undone.
 */
const FOLLOW_MS = 5000;

let pressed: { element: Element; top: number; until: number } | undefined;
let observer: ResizeObserver | undefined;

export function keepInPlace(element: Element): void {
  pressed = { element, top: element.getBoundingClientRect().top, until: performance.now() + FOLLOW_MS };
  if (observer) return;
  // Called after layout and before paint: the page is put back before it is drawn moved.
  observer = new ResizeObserver(restore);
  observer.observe(document.body);
  window.addEventListener('scroll', remark, { passive: true });
  // Captured, so before the next press's own handlers (a seat's marks itself again).
  document.addEventListener('pointerdown', forget, true);
  document.addEventListener('keydown', forget, true);
}

function forget(): void {
  pressed = undefined;
}

function remark(): void {
  if (pressed) pressed.top = pressed.element.getBoundingClientRect().top;
}

function restore(): void {
  if (!pressed) return;
  if (performance.now() > pressed.until || !pressed.element.isConnected) {
    pressed = undefined;
    return;
  }
  const moved = pressed.element.getBoundingClientRect().top - pressed.top;
  if (Math.abs(moved) >= 1) window.scrollBy({ top: moved, behavior: 'instant' });
}

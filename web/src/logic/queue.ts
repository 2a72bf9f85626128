/**
 * The waiting room as a fan sees it: progress through the line and what to announce when the status
 * changes. Pure logic, unit-tested. The states are the schema's QueueState; new ones (PREQUEUE,
 * SOLD_OUT, being built elsewhere) get their own branch in `describeStatus` once the schema has them.
 */

export interface QueueView {
  state: string;
  position: number | null;
  waiting: number;
  estimatedWaitSeconds: number | null;
  activeUntil: string | null;
}

/**
 * Progress through the line, 0..1, from the first position the fan was seen at (`start`) to the
 * current one: position `start` → a sliver, position 1 → most of the way, ACTIVE → 1.
 */
export function lineProgress(state: string, position: number | null, start: number | null): number {
  if (state === 'ACTIVE') return 1;
  if (state !== 'WAITING' || position === null) return 0;
  const first = Math.max(start ?? position, position);
  return (first - position + 1) / (first + 1);
}

/** The part of Web Storage used here (sessionStorage in the page, a Map in tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Keeps the first position a fan was seen at, per concert, for the tab (survives reloads and reconnects). */
export function rememberStart(storage: KeyValueStore, concertId: string, view: Pick<QueueView, 'state' | 'position'>): number | null {
  const key = `queue-start:${concertId}`;
  if (view.state !== 'WAITING' || view.position === null) {
    if (view.state === 'NONE') storage.removeItem(key);
    return null;
  }
  const stored = Number(storage.getItem(key));
  if (Number.isInteger(stored) && stored >= view.position) return stored;
  storage.setItem(key, String(view.position));
  return view.position;
}

/** One sentence for the aria-live region when the status changes, or undefined when nothing worth saying changed. */
export function announcement(previous: QueueView | undefined, next: QueueView): string | undefined {
  if (previous && previous.state === next.state && previous.position === next.position) return undefined;
  switch (next.state) {
    case 'WAITING':
      return next.position === 1 ? 'You are next in line.' : `You are number ${next.position ?? '?'} in line.`;
    case 'ACTIVE':
      return previous?.state === 'ACTIVE' ? undefined : 'It is your turn: you can choose seats now.';
    case 'NONE':
      return previous && previous.state !== 'NONE' ? 'You are no longer in the waiting room.' : undefined;
    default:
      return `Waiting room: ${next.state.toLowerCase()}.`;
  }
}

import { useCallback, useMemo } from 'react';
import { useMutation } from 'urql';
import { Store } from '../client';
import { isTransient, problemOf, type Problem } from '../logic/errors';
import { releasedWords } from '../logic/seats';
import { ReleaseHold } from '../operations';
import { useAnnounce } from './announcer';
import { useStore } from './hooks';
import { tellOtherTabs } from './other-tabs';

/**
 * Holds this tab paid for or released, or is paying for or releasing: gone from the fan's holds, they
 * went that way (or may have), not by running out (see holdsGoneByRunningOut). A request refused
 * takes its holds back out; one unanswered leaves them in (it may have gone through).
 */
const settled = new Set<string>();
export const settledHolds: ReadonlySet<string> = settled;

/** Notes holds being paid for or released; returns what takes them back out, for a request refused. */
export function settling(holdIds: readonly string[]): () => void {
  for (const id of holdIds) settled.add(id);
  return () => {
    for (const id of holdIds) settled.delete(id);
  };
}

/**
 * Holds this tab released (answered so, or gone already): a read of the fan's holds sent before the
 * release may still list them, and would put the seat back in the cart and on the map as theirs.
 */
const released = new Store<ReadonlySet<string>>(new Set());
const noteReleased = (holdId: string) => released.set(new Set(released.get()).add(holdId));

/** The fan's holds as read, without those this tab released since; the same array when it lists none of them. */
export function useWithoutReleased<H extends { id: string }>(holds: readonly H[] | undefined): readonly H[] | undefined {
  const gone = useStore(released);
  return useMemo(() => (holds?.some((hold) => gone.has(hold.id)) ? holds.filter((hold) => !gone.has(hold.id)) : holds), [holds, gone]);
}

/** What became of a release: done, or the hold was gone already (HOLD_NOT_FOUND: lapsed, or released by an earlier try whose answer was lost), or refused. */
export interface Released {
  released: boolean;
  /** Why it was not released, unless the hold was gone already (what the fan asked for). */
  problem?: Problem;
}

/** Releasing one of the fan's holds, from the seat map or the cart: once done, said aloud and told to the account's other tabs. */
export function useReleaseHold(): (hold: { id: string; seat: { number: number } }) => Promise<Released> {
  const [, releaseHold] = useMutation(ReleaseHold);
  const announce = useAnnounce();
  return useCallback(
    async (hold) => {
      const unsettle = settling([hold.id]);
      const problem = problemOf((await releaseHold({ holdId: hold.id })).error);
      if (!problem || problem.code === 'HOLD_NOT_FOUND') noteReleased(hold.id);
      if (!problem) {
        tellOtherTabs('release');
        announce(releasedWords(hold.seat.number));
        return { released: true };
      }
      if (problem.code === 'HOLD_NOT_FOUND') return { released: false };
      if (!isTransient(problem.code)) unsettle();
      return { released: false, problem };
    },
    [releaseHold, announce],
  );
}

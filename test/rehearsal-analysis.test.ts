/** The rehearsal's reading of its own record: which event each live push answered. */
import { describe, expect, it } from 'vitest';
import { pushCauses } from '../bench/rehearsal/analyse';
import type { FanLog } from '../bench/rehearsal/fan';

const fan = (userId: number, pushes: number[]) => ({ userId, pushes }) as FanLog;

describe('push lag attribution', () => {
  it('times a push from the tick before it, unless a later message named the fan’s own change', () => {
    const { tickLags, ownLags } = pushCauses({
      ticks: [2_000, 1_000, 3_000],
      ownChanges: new Map([[7, [2_900, 1_500]]]),
      logs: [fan(7, [1_020, 1_510, 2_050, 2_930, 3_040]), fan(8, [1_600, 2_990])],
    });
    // Fan 7's enter at 1,500 and pay at 2,900 were told at once: not 510 and 930 ms after a tick.
    expect(ownLags.sort((a, b) => a - b)).toEqual([10, 30]);
    expect(tickLags).toEqual([
      [1_000, 20],
      [2_000, 50],
      [3_000, 40],
      [1_000, 600],
      [2_000, 990],
    ]);
  });

  it('leaves pushes before the first tick and own change out', () => {
    expect(pushCauses({ ticks: [500], ownChanges: new Map(), logs: [fan(1, [100, 600])] })).toEqual({ tickLags: [[500, 100]], ownLags: [] });
  });
});

/**
 * A small on-sale rehearsal (bench/rehearsal, the code behind `npm run rehearse`) in the suite: two
 * compiled replicas, 150 fans played in this process, limits on. A regression in integrity
 * (anything sold twice, lost or charged twice) or fairness (an inversion, a pre-queue fan
 * overtaken, a present fan dropped) fails here.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../bench/rehearsal/plan';
import { runRehearsal } from '../bench/rehearsal/run';
import { testEnv } from './support/harness';

describe('on-sale rehearsal (small)', () => {
  it('sells every seat fairly, with integrity, no internal error, and tells the line SOLD_OUT', async () => {
    const env = testEnv('rehearsal');
    const run = await runRehearsal(
      // prettier-ignore
      { ...DEFAULT_OPTIONS, fans: 150, seats: 60, capacity: 10, replicas: 2, workers: 0, seed: 11, preOpenSeconds: 3, prequeueShare: 0.08, arrivalsPerSecond: 100, maxSeconds: 60,
        admissionIntervalMs: 200, holdTtlSeconds: 5, presenceGraceSeconds: 5, activeIdleSeconds: 5, abusers: false, profile: false, cluster: false },
      { DATABASE_URL: env.DATABASE_URL as string, REDIS_URL: env.REDIS_URL as string, REDIS_KEY_PREFIX: env.REDIS_KEY_PREFIX as string, REDIS_CLUSTER_NODES: env.REDIS_CLUSTER_NODES },
    );
    const { integrity, analysis } = run;
    for (const check of integrity.checks) expect(check.ok, `${check.name}: ${check.detail}`).toBe(true);
    // Sold out (a cancellation after the last sale may put a seat back: then it is the only one).
    // Alone it sells out 11–33 s after opening (a chain of fans letting their holds lapse makes the
    // tail); the cap leaves room for that on a loaded CI host, and a miss says whether the sale
    // stalled with seats free or was still reselling lapsed holds.
    const last = run.samples.at(-1);
    const stalled = `last sample ${JSON.stringify(last)}; every seat taken after ${analysis.sellOut.allTakenAfter} s; outcomes ${JSON.stringify(analysis.outcomes)}`;
    expect(analysis.sellOut.soldOutAfter, stalled).not.toBeNull();
    expect(integrity.seatsSold).toBeGreaterThanOrEqual(60 - analysis.sellOut.cancelledSeats);
    expect(analysis.experience.internalErrors).toBe(0);
    expect(analysis.experience.rateLimitedHonest).toBe(0);
    expect(analysis.experience.doubleSubmitsSame).toBe(analysis.experience.doubleSubmits);
    // Fairness, measured where it can be: some later arrivals were admitted.
    expect(analysis.fairness.postAdmitted).toBeGreaterThan(0);
    expect(analysis.fairness.inversions).toBe(0);
    expect(analysis.fairness.prequeueOvertaken).toBe(0);
    expect(analysis.fairness.lostPlace).toBe(0);
    // SOLD_OUT reaches the fans in line; whether every last one hears it before the run's time cap
    // depends on how loaded the machine is (subscriptions opened in the burst start late), so the
    // report, not this test, judges that.
    expect(analysis.sellOut.soldOutDelivered).toBeGreaterThan(0);
    expect(Object.keys(analysis.outcomes).filter((outcome) => outcome.startsWith('client crashed') || outcome.startsWith('enter failed'))).toEqual([]);
  }, 100_000);
});

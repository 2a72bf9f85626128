/**
 * Order statistics for the fairness figures, in O(n log n): at 20,000 fans the pairwise count
 * (O(n²), 200 million pairs per variant) took longer than the sale.
 */

/** A Fenwick tree of counts over ranks 0..size-1. */
class Counts {
  private readonly tree: Int32Array;

  constructor(size: number) {
    this.tree = new Int32Array(size + 1);
  }

  add(rank: number): void {
    for (let i = rank + 1; i < this.tree.length; i += i & -i) this.tree[i]!++;
  }

  /** How many added ranks are below `rank`. */
  below(rank: number): number {
    let sum = 0;
    for (let i = rank; i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }
}

export interface Entrant {
  enterSentAt: number;
  enterDoneAt: number;
  /** When admitted (Infinity: never). */
  admittedAt: number;
  /** The line dropped this fan while it was present. */
  dropped: boolean;
}

export interface Inversions {
  /** Pairs (a, b): a finished entering before b started, and not both never admitted. */
  comparable: number;
  /** Of those, b admitted before a (a never admitted counts as admitted last). */
  inversions: number;
  /** The same, neither of the two dropped by the line. */
  inversionsWithoutDropped: number;
}

export function countInversions(fans: readonly Entrant[]): Inversions {
  // Admission times as ranks; never admitted is the highest.
  const times = [...new Set(fans.map((fan) => fan.admittedAt))].sort((a, b) => a - b);
  const rankOf = new Map(times.map((t, i) => [t, i]));
  const all = new Counts(times.length);
  const kept = new Counts(times.length);
  let neverAdded = 0;
  const byDone = [...fans].sort((a, b) => b.enterDoneAt - a.enterDoneAt);
  const bySent = [...fans].sort((a, b) => b.enterSentAt - a.enterSentAt);
  const out: Inversions = { comparable: 0, inversions: 0, inversionsWithoutDropped: 0 };
  let next = 0;
  for (const a of byDone) {
    // Every b that started entering after a finished: the later arrivals a must not be overtaken by.
    while (next < bySent.length && bySent[next]!.enterSentAt > a.enterDoneAt) {
      const b = bySent[next++]!;
      const rank = rankOf.get(b.admittedAt)!;
      all.add(rank);
      if (!b.dropped) kept.add(rank);
      if (b.admittedAt === Infinity) neverAdded++;
    }
    const rank = rankOf.get(a.admittedAt)!;
    out.comparable += next - (a.admittedAt === Infinity ? neverAdded : 0);
    out.inversions += all.below(rank);
    if (!a.dropped) out.inversionsWithoutDropped += kept.below(rank);
  }
  return out;
}

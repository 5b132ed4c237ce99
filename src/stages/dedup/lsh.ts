import { fmix32 } from './hashing.js';
import { similarity } from './minhash.js';
import type { UnionFind } from './union-find.js';

/**
 * LSH banding: a signature is cut into bands of `rows` values; items sharing any band's bucket are
 * candidates, and a candidate pair is joined only when its estimated similarity reaches the
 * threshold. Candidate finding is thus tuned by bands and rows, and the verdict by the threshold.
 * Buckets are keyed by a 32-bit hash of the band (a collision only costs one extra comparison),
 * and a bucket with one member stores a bare number: most buckets have one member.
 */
export class LshIndex {
  private readonly buckets: Map<number, number | number[]>[];
  comparisons = 0;

  constructor(
    readonly bands: number,
    readonly rows: number,
    readonly threshold: number,
    private readonly signatureOf: (item: number) => Uint32Array | null,
    private readonly sets: UnionFind,
  ) {
    this.buckets = Array.from({ length: bands }, () => new Map());
  }

  /** Adds an item and joins it with every earlier candidate at or above the threshold. */
  add(item: number, sig: Uint32Array): void {
    for (let b = 0; b < this.bands; b++) {
      let h = b;
      for (let r = b * this.rows; r < (b + 1) * this.rows; r++) h = fmix32(h ^ sig[r]!) + r;
      const key = h >>> 0;
      const bucket = this.buckets[b]!;
      const found = bucket.get(key);
      if (found === undefined) {
        bucket.set(key, item);
        continue;
      }
      const members = typeof found === 'number' ? [found] : found;
      for (const other of members) {
        if (this.sets.find(other) === this.sets.find(item)) continue;
        this.comparisons++;
        if (similarity(sig, this.signatureOf(other)!) >= this.threshold) this.sets.union(other, item);
      }
      members.push(item);
      if (typeof found === 'number') bucket.set(key, members);
    }
  }
}

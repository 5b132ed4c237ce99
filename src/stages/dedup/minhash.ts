import { fmix32, hashString, salts } from './hashing.js';

/**
 * MinHash signatures: for each of n hash functions, the smallest hash over a set's elements.
 * Two signatures agree at a position with probability equal to the sets' Jaccard similarity.
 */
export class MinHasher {
  private readonly salt: Uint32Array;
  constructor(
    readonly numPerm: number,
    readonly seed: number,
  ) {
    this.salt = salts(seed, numPerm);
  }

  /** Signature of a set of strings; null for an empty set (it is similar to nothing). */
  signature(elements: Iterable<string>): Uint32Array | null {
    const hashes = new Set<number>();
    for (const e of elements) hashes.add(hashString(e, this.seed));
    if (hashes.size === 0) return null;
    const sig = new Uint32Array(this.numPerm).fill(0xffffffff);
    for (const x of hashes) {
      for (let i = 0; i < this.numPerm; i++) {
        const v = fmix32(x ^ this.salt[i]!);
        if (v < sig[i]!) sig[i] = v;
      }
    }
    return sig;
  }
}

/** Estimated Jaccard similarity: the share of positions where two signatures agree. */
export function similarity(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/** Word shingles: every run of k consecutive words (the whole text when it is shorter). */
export function* shingles(words: readonly string[], k: number): Generator<string> {
  if (words.length === 0) return;
  if (words.length <= k) {
    yield words.join(' ');
    return;
  }
  for (let i = 0; i + k <= words.length; i++) yield words.slice(i, i + k).join(' ');
}

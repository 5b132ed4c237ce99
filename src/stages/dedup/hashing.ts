/** Seeded 32-bit hashing: fast, deterministic across runs and machines (no Math.random, no process salt). */

/** MurmurHash3's finaliser: a bijection on 32-bit integers that mixes every bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3-style hash of a string's UTF-16 code units. */
export function hashString(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ s.length);
}

/** SplitMix32: derives a stream of independent-looking salts from one seed. */
export function salts(seed: number, n: number): Uint32Array {
  const out = new Uint32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    out[i] = fmix32(x);
  }
  return out;
}

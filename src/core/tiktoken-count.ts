import { encodeCount, type Vocabulary } from './bpe.js';
import { scanCl100k, scanO200k } from './pretokenize.js';

/**
 * Fast exact token counts for the tiktoken encodings. The reference (`referenceTiktokenCount` in
 * tokenizer.ts) splits a text with the encoding's regex and counts each piece with js-tiktoken's
 * `encode`, memoised in a Map. Profiled (docs/bench.md): on the synthetic bench corpus (260 M chars,
 * 45 M pieces, 1,490 distinct) the regex and its match objects took about half the time, the Map (a
 * fresh substring hashed per piece) ~30 %, GC most of the rest; on real trajectories (7.8 M chars, 2.0 M
 * pieces, 54,000 distinct) js-tiktoken's BPE of each new piece took ~70 % (`bytePairMerge` builds a
 * `join(",")` key for every pair in every round; `encode` builds two RegExps, escaping every special token, per call), the regex ~8 %.
 * So, each giving the reference's numbers:
 *  - a line seen before is counted by one lookup (agent text repeats whole lines: 96 % of the synthetic
 *    corpus's characters, 41 % of the distinct real strings'), cutting only where the pattern splits the
 *    same way on both sides (`chunkEnd`);
 *  - an ASCII scanner replaces the regex (pretokenize.ts), which still splits at non-ASCII characters;
 *  - pieces are looked up by their code units in place, without a substring;
 *  - a count-only port of js-tiktoken's BPE replaces `encode` (bpe.ts).
 * The tests compare pieces and counts with the reference's on random, edge-case and real text.
 */

/** Longest run of non-space characters handed to the BPE at once. */
export const MAX_RUN = 256;
const LONG_RUN = new RegExp(`\\S{${MAX_RUN + 1},}`, 'g');

/**
 * BPE merging is quadratic in the length of one pre-tokenised piece, and agent observations hold
 * pathological pieces (a 10 KB line of "=" or of one repeated letter took tiktoken 49 s). Long runs of
 * non-space characters are counted in slices of MAX_RUN: the count can differ by about one token per
 * slice boundary, and the time becomes linear.
 */
export function countInSlices(text: string, countPiece: (s: string) => number, memo?: Map<string, number>): number {
  let total = 0;
  let last = 0;
  for (const m of text.matchAll(LONG_RUN)) {
    if (m.index > last) total += countPiece(text.slice(last, m.index));
    for (let i = 0; i < m[0].length; i += MAX_RUN) total += countSlice(m[0].slice(i, i + MAX_RUN), countPiece, memo);
    last = m.index + m[0].length;
  }
  if (last < text.length) total += countPiece(last === 0 ? text : text.slice(last));
  return total;
}

/** Long runs are mostly one character repeated ("=====", "-----"): their slices repeat, so their counts are memoised. */
function countSlice(slice: string, countPiece: (s: string) => number, memo: Map<string, number> | undefined): number {
  if (!memo) return countPiece(slice);
  let n = memo.get(slice);
  if (n === undefined) {
    n = countPiece(slice);
    if (memo.size >= 4096) memo.clear();
    memo.set((' ' + slice).slice(1), n); // a copy: a slice would keep its whole text alive in V8
  }
  return n;
}

/**
 * A text's code units, and the same units as 32-bit words at both alignments, so that any run of units
 * is read two at a time: units j and j+1 are `even[j / 2]` for even j and `odd[(j + 1) / 2]` for odd j
 * (`odd` holds the text one unit further on). Hashing and comparing words halves the loads.
 */
interface Units {
  readonly u16: Uint16Array;
  readonly even: Uint32Array;
  readonly odd: Uint32Array;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies a text's code units into the two buffers given (or new ones if too small); Buffer's UTF-16 write keeps lone surrogates. */
function toUnits(text: string, even: Buffer, odd: Buffer): Units {
  const n = text.length;
  if (2 * n + 4 > even.length) {
    even = Buffer.allocUnsafeSlow(Math.max(2 * n + 4, 1 << 16)); // its own ArrayBuffer, offset 0
    odd = Buffer.allocUnsafeSlow(even.length);
  }
  const a: Units = {
    u16: new Uint16Array(even.buffer, 0, n),
    even: new Uint32Array(even.buffer, 0, (2 * n + 2) >> 2),
    odd: new Uint32Array(odd.buffer, 0, (2 * n + 4) >> 2),
  };
  if (LITTLE_ENDIAN) {
    even.write(text, 0, 'utf16le');
    odd.write(text, 2, 'utf16le');
  } else {
    const shifted = new Uint16Array(odd.buffer, 2, n);
    for (let i = 0; i < n; i++) a.u16[i] = shifted[i] = text.charCodeAt(i);
  }
  return a;
}

/**
 * Hash of a[s, e): FNV-1a-style over its words, alternate words in two independent chains (the
 * multiplies overlap), the odd last unit, then murmur3's finaliser. The same for any alignment.
 */
function hash(a: Units, s: number, e: number): number {
  const view = s & 1 ? a.odd : a.even;
  const len = e - s;
  let w = (s + 1) >> 1;
  const end = w + (len >> 1);
  let h = 0x811c9dc5 ^ len;
  let g = 0x01000193;
  for (; w + 1 < end; w += 2) {
    h = Math.imul(h ^ view[w]!, 0x01000193);
    g = Math.imul(g ^ view[w + 1]!, 0x01000193);
  }
  if (w < end) h = Math.imul(h ^ view[w]!, 0x01000193);
  if (len & 1) g = Math.imul(g ^ a.u16[e - 1]!, 0x01000193);
  h ^= Math.imul(g ^ (g >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Open-addressing hash table from a run of code units to its token count. A slot is two ints (hash,
 * 1 + where its entry starts in the arena) so that the table stays small in the caches; an entry is a
 * header word (count, length) followed by the key's units from a word boundary, read as words.
 */
class Memo {
  private readonly slots: Int32Array;
  private readonly arena16: Uint16Array;
  private readonly arena32: Uint32Array;
  private readonly mask: number;
  private size = 0;
  private top = 0; // in words

  constructor(
    bits: number,
    private readonly maxEntries: number,
    arenaUnits: number,
  ) {
    if (maxEntries >= 1 << bits) throw new Error('a memo needs empty slots to end its probes');
    this.slots = new Int32Array(2 << bits);
    const arena = new ArrayBuffer(2 * arenaUnits + 4);
    this.arena16 = new Uint16Array(arena);
    this.arena32 = new Uint32Array(arena);
    this.mask = (1 << bits) - 1;
  }

  /** The count of a[s, e) (whose hash is h), or 0 if not memoised. */
  get(a: Units, s: number, e: number, h: number): number {
    const { slots, mask, arena32 } = this;
    const len = e - s;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const v = slots[2 * slot + 1]! - 1;
      if (v < 0) return 0;
      if (slots[2 * slot] !== h) continue;
      const header = arena32[v]!;
      if (header >>> 16 === len && this.equal(a, s, e, v + 1)) return header & 0xffff;
    }
  }

  /** Whether a[s, e) equals the key stored from word v, compared a word at a time. */
  private equal(a: Units, s: number, e: number, v: number): boolean {
    const view = s & 1 ? a.odd : a.even;
    const keys = this.arena32;
    const len = e - s;
    const w = (s + 1) >> 1;
    for (let i = 0, words = len >> 1; i < words; i++) if (view[w + i] !== keys[v + i]) return false;
    return (len & 1) === 0 || a.u16[e - 1] === this.arena16[2 * v + len - 1];
  }

  /** Memoises a[s, e), known to be absent; when full, the memo starts afresh (memory stays bounded). */
  set(a: Units, s: number, e: number, h: number, count: number): void {
    const len = e - s;
    const need = 1 + ((len + 1) >> 1);
    if (len > 0xffff || count > 0xffff || need > this.arena32.length) return;
    if (this.size >= this.maxEntries || this.top + need > this.arena32.length) {
      this.slots.fill(0);
      this.size = this.top = 0;
    }
    let slot = h & this.mask;
    while (this.slots[2 * slot + 1] !== 0) slot = (slot + 1) & this.mask;
    const v = this.top;
    this.slots[2 * slot] = h;
    this.slots[2 * slot + 1] = v + 1;
    this.arena32[v] = count | (len << 16);
    const view = s & 1 ? a.odd : a.even;
    const w = (s + 1) >> 1;
    for (let i = 0, words = len >> 1; i < words; i++) this.arena32[v + 1 + i] = view[w + i]!;
    if (len & 1) this.arena16[2 * (v + 1) + len - 1] = a.u16[e - 1]!;
    this.top = v + need;
    this.size++;
  }
}

/**
 * Where the chunk starting at i ends: just after a line feed at which the pattern must end a piece and
 * both sides split as they would alone, or n. That holds when the next line starts with an ASCII
 * character other than white space and `/`, or with spaces/tabs followed by one (or by the end): the
 * line feed then ends its piece (`\s*[\r\n]+` stops at the run's last \r or \n, `[\r\n/]*` after
 * punctuation stops there, and no other alternative takes a line feed), the following piece starts
 * afresh, and no piece before it looks ahead (`\s+(?!\S)` never reaches a line feed, which
 * `\s*[\r\n]+` takes first).
 */
function chunkEnd(text: string, a: Uint16Array, i: number, n: number): number {
  for (let q = text.indexOf('\n', i); q >= 0 && q + 1 < n; q = text.indexOf('\n', q + 1)) {
    const p = q + 1;
    let j = p;
    let c = a[j]!;
    while (c === 32 || c === 9 || c === 11 || c === 12) {
      if (++j === n) return p;
      c = a[j]!;
    }
    if (c < 128 && c !== 10 && c !== 13 && (c !== 47 || j > p)) return p;
  }
  return n;
}

/** Chunks (lines, mostly) from this long to this long are memoised whole. */
const MIN_CHUNK = 8;
const MAX_CHUNK = 4096;
/** Texts up to this many code units are copied into buffers kept between calls (2 x 8 MB). */
const KEEP = 1 << 22;

/** Sizes of the two memos: table bits, most entries, arena code units. Tests make them tiny. */
export interface MemoLimits {
  pieces: [bits: number, entries: number, arena: number];
  chunks: [bits: number, entries: number, arena: number];
}
/**
 * 18 MB a counter (tables 4 + 2 MB, arenas 4 + 8 MB), plus up to 2 x 8 MB of text copies: as many
 * pieces as the reference's Map held (which also kept alive every text a memoised piece was sliced from),
 * and up to 100,000 lines or 8 MB of them.
 */
const LIMITS: MemoLimits = { pieces: [19, 200_000, 1 << 21], chunks: [18, 100_000, 1 << 22] };

/**
 * A counter for one encoding with its own memos. The text's code units are copied into a typed array,
 * cut into chunks at safe line feeds (`chunkEnd`), and a chunk seen before is counted by one lookup. A
 * new chunk is split into pieces by the ASCII scanner (or, at a non-ASCII character, by the pattern
 * itself), each looked up in a second memo; both memos hash the code units in place, so a hit
 * allocates nothing.
 */
export function fastTiktokenCount(vocab: Vocabulary, encoding: 'o200k_base' | 'cl100k_base', limits = LIMITS): (text: string) => number {
  const scan = encoding === 'o200k_base' ? scanO200k : scanCl100k;
  const at = new RegExp(vocab.pattern, 'gu');
  const split = new RegExp(vocab.pattern, 'gu');
  const exact = (s: string): number => encodeCount(s, vocab, split);
  const sliceMemo = new Map<string, number>();
  const pieces = new Memo(...limits.pieces);
  const chunks = new Memo(...limits.chunks);
  let keptEven: Buffer = Buffer.alloc(0);
  let keptOdd: Buffer = Buffer.alloc(0);

  /** Tokens of text[i, n), where n ends a chunk: pieces split there exactly as in the whole text. */
  const countPieces = (text: string, a: Units, i: number, n: number): number => {
    let total = 0;
    while (i < n) {
      let s = i;
      let e = scan(a.u16, i, n);
      if (e < 0) {
        at.lastIndex = i;
        const m = at.exec(text);
        if (m === null) break; // cannot happen: every character starts a match
        s = m.index;
        e = s + m[0].length;
      }
      i = e;
      if (e - s > MAX_RUN) {
        total += countInSlices(text.slice(s, e), exact, sliceMemo);
        continue;
      }
      const h = hash(a, s, e);
      let c = pieces.get(a, s, e, h);
      if (c === 0) {
        c = exact(text.slice(s, e));
        pieces.set(a, s, e, h, c);
      }
      total += c;
    }
    return total;
  };

  return (text) => {
    const n = text.length;
    const a = toUnits(text, keptEven, keptOdd);
    if (a.u16.buffer !== keptEven.buffer && n <= KEEP) {
      keptEven = Buffer.from(a.even.buffer);
      keptOdd = Buffer.from(a.odd.buffer);
    }
    let total = 0;
    for (let i = 0; i < n; ) {
      const e = chunkEnd(text, a.u16, i, n);
      if (e - i < MIN_CHUNK || e - i > MAX_CHUNK) total += countPieces(text, a, i, e);
      else {
        const h = hash(a, i, e);
        let c = chunks.get(a, i, e, h);
        if (c === 0) {
          c = countPieces(text, a, i, e);
          chunks.set(a, i, e, h, c);
        }
        total += c;
      }
      i = e;
    }
    return total;
  };
}

/** The pieces the fast counter counts, in order, found the same way (chunks, scanner, pattern): for tests. */
export function splitPieces(text: string, encoding: 'o200k_base' | 'cl100k_base', pattern: string): string[] {
  const scan = encoding === 'o200k_base' ? scanO200k : scanCl100k;
  const at = new RegExp(pattern, 'gu');
  const a = toUnits(text, Buffer.allocUnsafeSlow(2 * text.length + 4), Buffer.allocUnsafeSlow(2 * text.length + 4)).u16;
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = chunkEnd(text, a, i, text.length);
    while (i < n) {
      let s = i;
      let e = scan(a, i, n);
      if (e < 0) {
        at.lastIndex = i;
        const m = at.exec(text);
        if (m === null) return out;
        s = m.index;
        e = s + m[0].length;
      }
      out.push(text.slice(s, e));
      i = e;
    }
  }
  return out;
}

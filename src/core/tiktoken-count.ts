import type { TiktokenBPE } from 'js-tiktoken/lite';
import { scanCl100k, scanO200k } from './pretokenize.js';

/**
 * Fast exact token counts for the tiktoken encodings. The reference (`referenceTiktokenCount` in
 * tokenizer.ts) splits the text with the encoding's regex and counts each piece with js-tiktoken's
 * `encode`, memoised in a Map. Profiled on the bench corpus, the regex took ~60 % of the time and the
 * Map (a substring per piece, then hashing it) most of the rest; on real trajectories, with far fewer
 * repeats, `encode` of each new piece (~17 µs: it builds two RegExps and joins byte strings per call)
 * took half. So here: an ASCII scanner replaces the regex (pretokenize.ts), a hash table keyed by the
 * piece's place in the text replaces the Map, and a count-only port of js-tiktoken's BPE replaces
 * `encode`. All give the reference's numbers; the tests compare them on random and real text.
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
    memo.set(slice, n);
  }
  return n;
}


export interface Vocabulary {
  /** The split pattern, `ranks.pat_str`. */
  readonly pattern: string;
  /** Token rank by its bytes as a latin1 string (one char per byte): js-tiktoken's rankMap, keyed cheaply. */
  readonly ranks: Map<string, number>;
}

/** Parses the vocabulary the way js-tiktoken's constructor does (0.2 s instead of 0.6 s for o200k). */
export function loadVocabulary(bpe: TiktokenBPE): Vocabulary {
  const ranks = new Map<string, number>();
  for (const line of bpe.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offset, ...tokens] = line.split(' ');
    const first = Number.parseInt(offset!, 10);
    tokens.forEach((token, i) => ranks.set(Buffer.from(token, 'base64').toString('latin1'), first + i));
  }
  // js-tiktoken counts one token for a single byte even without a rank; every byte has one in both
  // encodings, which lets the BPE below count parts without looking them up.
  for (let b = 0; b < 256; b++) if (!ranks.has(String.fromCharCode(b))) throw new Error(`tiktoken vocabulary lacks byte ${b}`);
  return { pattern: bpe.pat_str, ranks };
}

const utf8 = new TextEncoder();
const RMAX = 0x7fffffff;
let pos = new Int32Array(1024);
let rk = new Int32Array(1024);

/**
 * Tokens of one pre-tokenised piece: 1 if its bytes are a token, else the number of parts left by
 * js-tiktoken's `bytePairMerge` (merge the lowest-ranked adjacent pair, the leftmost on ties, until no
 * pair is a token), kept incrementally as tiktoken's Rust code does instead of rescanning every pair.
 */
export function bpeCount(piece: string, ranks: Map<string, number>): number {
  let bin = piece;
  for (let i = 0; i < piece.length; i++) {
    if (piece.charCodeAt(i) >= 128) {
      const bytes = utf8.encode(piece); // lone surrogates become U+FFFD, as in js-tiktoken
      bin = '';
      for (let j = 0; j < bytes.length; j += 4096) bin += String.fromCharCode(...bytes.subarray(j, j + 4096));
      break;
    }
  }
  const n = bin.length;
  if (n <= 1 || ranks.has(bin)) return 1;
  if (n + 1 > pos.length) {
    pos = new Int32Array(2 * n + 2);
    rk = new Int32Array(2 * n + 2);
  }
  // Parts [pos[k], pos[k+1]); rk[k] is the rank of parts k and k+1 joined.
  for (let k = 0; k <= n; k++) pos[k] = k;
  for (let k = 0; k < n - 1; k++) rk[k] = ranks.get(bin.slice(k, k + 2)) ?? RMAX;
  let parts = n;
  for (;;) {
    let min = RMAX;
    let at = -1;
    for (let k = 0; k < parts - 1; k++) {
      if (rk[k]! < min) {
        min = rk[k]!;
        at = k;
      }
    }
    if (at < 0) return parts;
    pos.copyWithin(at + 1, at + 2, parts + 1);
    rk.copyWithin(at + 1, at + 2, parts - 1);
    parts--;
    rk[at] = at + 1 < parts ? (ranks.get(bin.slice(pos[at]!, pos[at + 2]!)) ?? RMAX) : RMAX;
    if (at > 0) rk[at - 1] = ranks.get(bin.slice(pos[at - 1]!, pos[at + 1]!)) ?? RMAX;
  }
}

/**
 * `enc.encode(text, [], []).length` of js-tiktoken: split with the pattern, count each piece. With no
 * special token allowed or disallowed, `encode` treats special-token text as text, as here.
 */
export function encodeCount(text: string, vocab: Vocabulary, pattern: RegExp): number {
  let n = 0;
  for (const m of text.matchAll(pattern)) n += bpeCount(m[0], vocab.ranks);
  return n;
}

/** A text's code units, also viewed as 32-bit words (two units each) for faster comparisons. */
interface Units {
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
}

function unitsView(buffer: ArrayBuffer, n: number): Units {
  return { u16: new Uint16Array(buffer, 0, n), u32: new Uint32Array(buffer, 0, n >> 1) };
}

/** Open-addressing hash table from a run of code units, kept in one arena, to its token count. */
class Memo {
  /** Four ints a slot (one cache line holds four slots): hash, count (0: empty), key start, key length. */
  private readonly slots: Int32Array;
  private readonly arena: Units;
  private readonly mask: number;
  private size = 0;
  private top = 0;

  constructor(
    bits: number,
    private readonly maxEntries: number,
    arenaUnits: number,
  ) {
    this.slots = new Int32Array(4 << bits);
    this.arena = unitsView(new ArrayBuffer(2 * arenaUnits), arenaUnits);
    this.mask = (1 << bits) - 1;
  }

  /** The count of a[s, e) (whose hash is h), or 0 if not memoised. */
  get(a: Units, s: number, e: number, h: number): number {
    const { slots, mask } = this;
    const len = e - s;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const x = slot << 2;
      const c = slots[x + 1]!;
      if (c === 0) return 0;
      if (slots[x] === h && slots[x + 3] === len && this.equal(a, s, e, slots[x + 2]!)) return c;
    }
  }

  /** Whether a[s, e) equals the key stored at k; two units at a time when both start on the same parity. */
  private equal(a: Units, s: number, e: number, k: number): boolean {
    const b = this.arena;
    const a16 = a.u16;
    const b16 = b.u16;
    if (((s ^ k) & 1) === 0) {
      if (s & 1) {
        if (a16[s] !== b16[k]) return false;
        s++;
        k++;
      }
      const a32 = a.u32;
      const b32 = b.u32;
      const ew = e >> 1;
      for (let w = s >> 1, v = k >> 1; w < ew; w++, v++) if (a32[w] !== b32[v]) return false;
      return (e & 1) === 0 || a16[e - 1] === b16[k + (e - 1 - s)];
    }
    for (let j = s; j < e; j++, k++) if (a16[j] !== b16[k]) return false;
    return true;
  }

  /** Memoises a[s, e), known to be absent; when full, the memo starts afresh (memory stays bounded). */
  set(a: Units, s: number, e: number, h: number, count: number): void {
    const len = e - s;
    const room = this.arena.u16.length;
    let top = this.top + ((this.top ^ s) & 1); // the same parity as s, for `equal`
    if (this.size >= this.maxEntries || top + len > room) {
      if (len + 1 > room) return;
      this.slots.fill(0);
      this.size = 0;
      top = s & 1;
    }
    let slot = h & this.mask;
    while (this.slots[(slot << 2) + 1] !== 0) slot = (slot + 1) & this.mask;
    const x = slot << 2;
    this.slots[x] = h;
    this.slots[x + 1] = count;
    this.slots[x + 2] = top;
    this.slots[x + 3] = len;
    const a16 = a.u16;
    const b16 = this.arena.u16;
    for (let j = s; j < e; j++) b16[top++] = a16[j]!;
    this.top = top;
    this.size++;
  }
}

/** FNV-1a over code units, high bits folded into the low ones that index the table. */
function hash(a: Units, s: number, e: number): number {
  const a16 = a.u16;
  let h = 0x811c9dc5 ^ (e - s);
  for (let j = s; j < e; j++) h = Math.imul(h ^ a16[j]!, 0x01000193);
  return h ^ (h >>> 15);
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
/** Texts up to this many code units are copied into a buffer kept between calls (16 MB). */
const KEEP = 1 << 23;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Sizes of the two memos: table bits, most entries, arena code units. Tests make them tiny. */
export interface MemoLimits {
  pieces: [bits: number, entries: number, arena: number];
  chunks: [bits: number, entries: number, arena: number];
}
/** ~35 MB a counter: as many pieces as the reference's Map held, and 100,000 chunks. */
const LIMITS: MemoLimits = { pieces: [19, 200_000, 1 << 21], chunks: [18, 100_000, 1 << 22] };

/** Copies a text's code units into `buf` (or a new buffer if it is too small); Buffer's UTF-16 write keeps lone surrogates. */
function toUnits(text: string, buf: Buffer): Units {
  const n = text.length;
  if (2 * n > buf.length) buf = Buffer.allocUnsafeSlow(Math.max(2 * n, 1 << 16)); // its own ArrayBuffer, offset 0
  const a = unitsView(buf.buffer as ArrayBuffer, n);
  if (LITTLE_ENDIAN) buf.write(text, 0, 'utf16le');
  else for (let i = 0; i < n; i++) a.u16[i] = text.charCodeAt(i);
  return a;
}

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
  let kept: Buffer = Buffer.alloc(0);

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
    const a = toUnits(text, kept);
    if (a.u16.buffer !== kept.buffer && n <= KEEP) kept = Buffer.from(a.u16.buffer);
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
  const a = toUnits(text, Buffer.allocUnsafeSlow(2 * text.length)).u16;
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

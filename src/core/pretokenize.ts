/**
 * Hand-written pre-tokenisers for the o200k_base and cl100k_base split patterns (`ranks.pat_str` of
 * js-tiktoken). Each `scan*(a, i, n)`, over the text's UTF-16 code units `a` (typed-array reads beat
 * `charCodeAt`), returns where the regex match starting at i ends, or -1 when deciding it would mean
 * looking at a non-ASCII code unit: the caller then runs the real regex at i, so those pieces are exact
 * by construction. Only ASCII is decided here:
 *
 * o200k: 1 `X?[UPPER]*[LOWER]+C?`  2 `X?[UPPER]+[LOWER]*C?`  3 `\p{N}{1,3}`  4 ` ?P+[\r\n/]*`
 *        5 `\s*[\r\n]+`  6 `\s+(?!\S)`  7 `\s+`
 * cl100k: 0 `C`  1 `X?\p{L}+`  3, 4 (`[\r\n]*` without `/`), 5, 6, 7 as above
 * where X = [^\r\n\p{L}\p{N}], P = [^\s\p{L}\p{N}], C = 's 't 're 've 'm 'll 'd in any case. In ASCII,
 * UPPER and LOWER are A-Z and a-z (they share only non-ASCII classes Lm, Lo, M), so alternative 1 matches
 * iff the upper run is followed by a lower-case letter, and no backtracking can change a piece except in
 * the whitespace alternatives, handled in `space`.
 */

const LO = 1; // a-z
const UP = 2; // A-Z
const DG = 3; // 0-9
const NL = 4; // \r \n
const SP = 5; // ' '
const WS = 6; // \t \v \f (JavaScript's \s; U+001C-001F are not)
const PU = 7; // everything else in ASCII: punctuation, symbols, control characters
const CLS = new Uint8Array(128).fill(PU);
for (let c = 97; c <= 122; c++) CLS[c] = LO;
for (let c = 65; c <= 90; c++) CLS[c] = UP;
for (let c = 48; c <= 57; c++) CLS[c] = DG;
CLS[10] = CLS[13] = NL;
CLS[32] = SP;
CLS[9] = CLS[11] = CLS[12] = WS;

/** o200k_base: end of the piece starting at i, or -1 to let the regex decide. */
export function scanO200k(a: Uint16Array, i: number, n: number): number {
  const c = a[i]!;
  if (c >= 128) return -1;
  const k = CLS[c]!;
  if (k <= UP) return caseWord(a, i, n);
  if (k === DG) return digits(a, i, n);
  if (k !== NL) {
    // X: a one-character prefix of a following word, else punctuation or white space.
    if (i + 1 === n) return k === PU ? n : space(a, i, n);
    const d = a[i + 1]!;
    if (d >= 128) return -1;
    const kd = CLS[d]!;
    if (kd <= UP) return caseWord(a, i + 1, n);
    if (k === PU) return punct(a, i + 1, n, true);
    if (k === SP && kd === PU) return punct(a, i + 2, n, true);
  }
  return space(a, i, n);
}

/** cl100k_base: end of the piece starting at i, or -1 to let the regex decide. */
export function scanCl100k(a: Uint16Array, i: number, n: number): number {
  const c = a[i]!;
  if (c >= 128) return -1;
  const k = CLS[c]!;
  if (k <= UP) return letters(a, i + 1, n);
  if (k === DG) return digits(a, i, n);
  if (c === 39) {
    const e = contraction(a, i, n); // the first alternative: a bare contraction
    if (e !== i) return e;
  }
  if (k !== NL) {
    if (i + 1 === n) return k === PU ? n : space(a, i, n);
    const d = a[i + 1]!;
    if (d >= 128) return -1;
    const kd = CLS[d]!;
    if (kd <= UP) return letters(a, i + 2, n);
    if (k === PU) return punct(a, i + 1, n, false);
    if (k === SP && kd === PU) return punct(a, i + 2, n, false);
  }
  return space(a, i, n);
}

/** o200k alternatives 1 and 2 from the letter at s: upper run, then a lower run if one follows, then C?. */
function caseWord(a: Uint16Array, s: number, n: number): number {
  let j = s;
  let d = 0;
  while (j < n) {
    d = a[j]!;
    if (d >= 128) return -1; // could be Lu, Ll, Lm, Lo or M
    if (CLS[d] !== UP) break;
    j++;
  }
  if (j < n && CLS[d] === LO) {
    for (j++; j < n; j++) {
      d = a[j]!;
      if (d >= 128) return -1;
      if (CLS[d] !== LO) break;
    }
  }
  return contraction(a, j, n);
}

/** cl100k `\p{L}+` continued from j. */
function letters(a: Uint16Array, j: number, n: number): number {
  for (; j < n; j++) {
    const d = a[j]!;
    if (d >= 128) return -1;
    if (CLS[d]! > UP) break;
  }
  return j;
}

/** End of a contraction at j ('s 't 're 've 'm 'll 'd in any case), or j. Non-ASCII never matches. */
function contraction(a: Uint16Array, j: number, n: number): number {
  if (j + 1 >= n || a[j] !== 39) return j;
  const x = a[j + 1]! | 32; // folds case of letters only: c | 32 is a-z only for A-Z and a-z
  if (x === 115 || x === 116 || x === 109 || x === 100) return j + 2; // s t m d
  if (j + 2 >= n) return j;
  const y = a[j + 2]! | 32;
  if ((x === 114 || x === 118) && y === 101) return j + 3; // re ve
  if (x === 108 && y === 108) return j + 3; // ll
  return j;
}

/** `\p{N}{1,3}` from the digit at i. */
function digits(a: Uint16Array, i: number, n: number): number {
  const lim = i + 3 < n ? i + 3 : n;
  let j = i + 1;
  for (; j < lim; j++) {
    const d = a[j]!;
    if (d >= 128) return -1; // another script's digit would extend the run
    if (CLS[d] !== DG) break;
  }
  return j;
}

/** Rest of `P+` from j (the character before j was P), then `[\r\n/]*` (o200k) or `[\r\n]*` (cl100k). */
function punct(a: Uint16Array, j: number, n: number, slash: boolean): number {
  for (; j < n; j++) {
    const d = a[j]!;
    if (d >= 128) return -1; // symbols, emoji and lone surrogates are P too
    if (CLS[d] !== PU) break;
  }
  for (; j < n; j++) {
    const d = a[j]!;
    if (d !== 10 && d !== 13 && !(slash && d === 47)) break;
  }
  return j;
}

/**
 * Alternatives 5-7 from the white space at i (no letter follows a prefix character here). Over the run
 * of white space: `\s*[\r\n]+` backtracks to end just after the run's last \r or \n; otherwise
 * `\s+(?!\S)` takes the whole run at the end of the text and all but its last character before a
 * non-space; a single space before a non-space falls to `\s+`.
 */
function space(a: Uint16Array, i: number, n: number): number {
  let nl = CLS[a[i]!] === NL ? i : -1;
  let j = i + 1;
  for (; j < n; j++) {
    const d = a[j]!;
    if (d >= 128) return -1; // NBSP, U+2028 and others are white space too
    const k = CLS[d];
    if (k === NL) nl = j;
    else if (k !== SP && k !== WS) break;
  }
  if (nl >= 0) return nl + 1;
  return j === n || j - i === 1 ? j : j - 1;
}

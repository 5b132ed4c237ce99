import { Buffer } from 'node:buffer';

// A JSON text is written by ingest as JSON.stringify of the validated record. When the text read is already
// that (our own canonical lines re-ingested, a dataset of them), it is passed on byte for byte instead of being
// serialised again: two exact checks say so, far cheaper than JSON.stringify and encoding.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const isDigitStart = (b: number): boolean => b === 0x2d || (b >= 0x30 && b <= 0x39);

/** Escapes JSON.stringify writes itself (the one-letter ones; \u00XX for the other control characters). */
const SHORT_ESCAPES = new Set([QUOTE, BACKSLASH, 0x62 /* b */, 0x66 /* f */, 0x6e /* n */, 0x72 /* r */, 0x74 /* t */]);
const HEX_LOWER = /^00[01][0-9a-f]$/;
/** Control characters JSON.stringify writes as \uXXXX (those without a one-letter escape). */
const uEscaped = (code: number): boolean => code < 0x20 && ![0x08, 0x09, 0x0a, 0x0c, 0x0d].includes(code);

/**
 * Whether valid JSON bytes (already parsed without error) are in the form JSON.stringify writes: no space
 * outside strings, numbers as Number#toString writes them, strings escaped exactly as it escapes them (and
 * nothing else escaped). Returns how many object keys the text has (a repeated key is two here, one in the
 * parsed value, which the caller compares), or -1 when the form differs.
 */
export function stringifyFormKeys(bytes: Uint8Array): number {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let keys = 0;
  let i = 0;
  const n = buf.length;
  const next: Next = { quote: -1, backslash: -2 };
  while (i < n) {
    const b = buf[i]!;
    if (b === QUOTE) {
      const end = stringEnd(buf, i, next);
      if (end < 0) return -1;
      i = end;
      if (buf[i] === COLON) keys++;
      continue;
    }
    if (isDigitStart(b)) {
      let j = i + 1;
      while (j < n && ((buf[j]! >= 0x30 && buf[j]! <= 0x39) || buf[j] === 0x2e || buf[j] === 0x65 || buf[j] === 0x45 || buf[j] === 0x2b || buf[j] === 0x2d)) j++;
      const token = buf.toString('latin1', i, j);
      if (String(Number(token)) !== token) return -1;
      i = j;
      continue;
    }
    // Structure and the literals true, false, null: any space outside strings is not stringify's form.
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) return -1;
    i++;
  }
  return keys;
}

/** Where the next quote and backslash are (searched again only once passed: a long string is scanned once). */
interface Next {
  quote: number;
  backslash: number;
}

/** The index after the string opening at `start`, or -1 when one of its escapes is not stringify's. */
function stringEnd(buf: Buffer, start: number, next: Next): number {
  let i = start + 1;
  for (;;) {
    if (next.quote < i) next.quote = buf.indexOf(QUOTE, i);
    if (next.backslash !== -1 && next.backslash < i) next.backslash = buf.indexOf(BACKSLASH, i);
    const q = next.quote;
    const e = next.backslash;
    if (q < 0) return -1;
    if (e === -1 || e > q) return q + 1;
    const c = buf[e + 1]!;
    if (c === 0x75 /* u */) {
      const hex = buf.toString('latin1', e + 2, e + 6);
      if (!HEX_LOWER.test(hex) || !uEscaped(parseInt(hex, 16))) return -1;
      i = e + 6;
    } else {
      if (!SHORT_ESCAPES.has(c)) return -1;
      i = e + 2;
    }
  }
}

/**
 * Whether two parsed JSON values are the same, key order included (what JSON.stringify of each would write),
 * and how many object keys they hold; -1 when they differ. Iterative.
 */
export function sameJsonKeys(a: unknown, b: unknown): number {
  let keys = 0;
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length) {
    const [x, y] = stack.pop()!;
    if (x === y && (x === null || typeof x !== 'object')) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return -1;
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return -1;
      for (let i = 0; i < x.length; i++) stack.push([x[i], y[i]]);
      continue;
    }
    if (Array.isArray(y)) return -1;
    const kx = Object.keys(x);
    const ky = Object.keys(y);
    if (kx.length !== ky.length) return -1;
    keys += kx.length;
    for (let i = 0; i < kx.length; i++) {
      if (kx[i] !== ky[i]) return -1;
      stack.push([(x as Record<string, unknown>)[kx[i]!], (y as Record<string, unknown>)[ky[i]!]]);
    }
  }
  return keys;
}

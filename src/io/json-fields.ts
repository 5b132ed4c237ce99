import { Buffer } from 'node:buffer';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

function skipSpace(buf: Uint8Array, i: number): number {
  while (i < buf.length && isSpace(buf[i]!)) i++;
  return i;
}

/** The index just past the string that opens at `i` (a quote). Escaped quotes are preceded by an odd run of backslashes. */
function skipString(buf: Buffer, i: number): number {
  let at = i + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, at);
    if (q === -1) throw new SyntaxError('unterminated string');
    let slashes = 0;
    for (let k = q - 1; k > i && buf[k] === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return q + 1;
    at = q + 1;
  }
}

/** The index just past the JSON value that starts at `i` (after any space). Strings are skipped with indexOf, not byte by byte. */
function skipValue(buf: Buffer, i: number): number {
  const first = buf[i];
  if (first === QUOTE) return skipString(buf, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let k = i; k < buf.length; ) {
      const b = buf[k]!;
      if (b === QUOTE) {
        k = skipString(buf, k);
        continue;
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return k + 1;
      }
      k++;
    }
    throw new SyntaxError('unterminated object or array');
  }
  let k = i;
  while (k < buf.length) {
    const b = buf[k]!;
    if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isSpace(b)) break;
    k++;
  }
  if (k === i) throw new SyntaxError(`unexpected byte ${first} at ${i}`);
  return k;
}

/**
 * Some top-level fields of a JSON object, parsed, without decoding or parsing the others: a record's
 * messages are most of its bytes, and a reader that wants its id, task and outcome need not pay for them.
 * Each wanted value is parsed by JSON.parse, so it is exactly what a full parse gives; a skipped value is
 * only scanned for its end. Throws SyntaxError for what is not a JSON object (the caller then parses the
 * whole line, for JSON.parse's own message). The result holds the wanted keys present, in line order.
 */
export function pickFields(bytes: Uint8Array, keys: ReadonlySet<string>): Record<string, unknown> {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, unknown> = {};
  let i = skipSpace(buf, 0);
  if (buf[i] !== OPEN_BRACE) throw new SyntaxError('not a JSON object');
  i = skipSpace(buf, i + 1);
  if (buf[i] === CLOSE_BRACE) return finishAt(buf, i + 1, out);
  let left = keys.size;
  for (;;) {
    if (buf[i] !== QUOTE) throw new SyntaxError(`expected a key at ${i}`);
    const keyEnd = skipString(buf, i);
    const key = JSON.parse(buf.toString('utf8', i, keyEnd)) as string;
    i = skipSpace(buf, keyEnd);
    if (buf[i] !== COLON) throw new SyntaxError(`expected ":" at ${i}`);
    const start = skipSpace(buf, i + 1);
    const end = skipValue(buf, start);
    if (keys.has(key)) {
      // A duplicate key: JSON.parse keeps the last one, and so does this.
      if (!Object.hasOwn(out, key)) left--;
      out[key] = JSON.parse(buf.toString('utf8', start, end));
    }
    i = skipSpace(buf, end);
    if (buf[i] === COMMA) {
      // Every wanted key seen: the rest is not read (a duplicate later in the line would be missed, but
      // this reads only lines the pipeline wrote, with JSON.stringify, which never repeats a key).
      if (left === 0) return out;
      i = skipSpace(buf, i + 1);
      continue;
    }
    if (buf[i] === CLOSE_BRACE) return finishAt(buf, i + 1, out);
    throw new SyntaxError(`expected "," or "}" at ${i}`);
  }
}

function finishAt(buf: Buffer, i: number, out: Record<string, unknown>): Record<string, unknown> {
  if (skipSpace(buf, i) !== buf.length) throw new SyntaxError('unexpected data after the object');
  return out;
}

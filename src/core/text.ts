// Node 20 has these (V8 11.x); TypeScript's ES2022 lib does not declare them yet.
declare global {
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

/** Lone UTF-16 surrogates in a string (each becomes one U+FFFD). */
function loneSurrogates(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else n++;
    } else if (c >= 0xdc00 && c <= 0xdfff) n++;
  }
  return n;
}

export type NormalizeResult<T> = { ok: true; value: T; loneSurrogates: number } | { ok: false; maxDepth: number };

const isContainer = (v: unknown): v is object => v !== null && typeof v === 'object' && !ArrayBuffer.isView(v);

/**
 * Makes every string in a freshly parsed value one that UTF-8 can carry: a lone UTF-16 surrogate
 * (half an emoji, left by a harness that truncated output by UTF-16 length) becomes U+FFFD, and the
 * repairs are counted. Done at ingest, so the canonical record, its id and the exported Parquet row
 * all hold the same text. Mutates objects and arrays in place.
 *
 * The walk is iterative and refuses values nested deeper than `maxDepth` (a scalar is depth 0, `[]`
 * depth 1): JSON.parse is iterative in V8 but JSON.stringify, zod and every recursive helper after
 * ingest are not, and ~6,000 levels overflow the stack. A refused value is left half-repaired; the
 * caller rejects it.
 */
export function normalizeParsed<T>(value: T, maxDepth = Number.POSITIVE_INFINITY): NormalizeResult<T> {
  let repaired = 0;
  const fix = (s: string): string => {
    if (s.isWellFormed()) return s;
    repaired += loneSurrogates(s);
    return s.toWellFormed();
  };
  if (typeof value === 'string') return { ok: true, value: fix(value) as T, loneSurrogates: repaired };
  if (!isContainer(value)) return { ok: true, value, loneSurrogates: 0 };
  const stack: [object, number][] = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > maxDepth) return { ok: false, maxDepth };
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === 'string') node[i] = fix(v);
        else if (isContainer(v)) stack.push([v, depth + 1]);
      }
      continue;
    }
    const obj = node as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      if (typeof v === 'string') {
        const f = fix(v);
        if (f !== v) obj[k] = f;
      } else if (isContainer(v)) stack.push([v, depth + 1]);
      if (!k.isWellFormed()) {
        obj[fix(k)] = obj[k];
        delete obj[k];
      }
    }
  }
  return { ok: true, value, loneSurrogates: repaired };
}

/** normalizeParsed without a depth limit, for values known to be shallow. */
export function wellFormedDeep<T>(value: T): T {
  const r = normalizeParsed(value);
  if (!r.ok) throw new Error('unreachable: no depth limit');
  return r.value;
}

const REPLACEMENT_BYTES = Buffer.from([0xef, 0xbf, 0xbd]);

/**
 * Bytes as UTF-8 text, with the count of invalid sequences replaced by U+FFFD (WHATWG decoding, as
 * Node's own). U+FFFD characters that were already in the input are not counted.
 */
export function decodeUtf8(buf: Buffer): { text: string; invalid: number } {
  const text = buf.toString('utf8');
  if (!text.includes('\ufffd')) return { text, invalid: 0 };
  let decoded = 0;
  for (let i = text.indexOf('\ufffd'); i !== -1; i = text.indexOf('\ufffd', i + 1)) decoded++;
  let present = 0;
  for (let i = buf.indexOf(REPLACEMENT_BYTES); i !== -1; i = buf.indexOf(REPLACEMENT_BYTES, i + 3)) present++;
  return { text, invalid: decoded - present };
}

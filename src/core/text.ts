// Node 20 has these (V8 11.x); TypeScript's ES2022 lib does not declare them yet.
declare global {
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

/**
 * Makes every string in a freshly parsed value one that UTF-8 can carry: a lone UTF-16 surrogate
 * (half an emoji, left by a harness that truncated output by UTF-16 length) becomes U+FFFD. Done at
 * ingest, so the canonical record, its id and the exported Parquet row all hold the same text.
 * Mutates objects and arrays in place; returns the (possibly new) value.
 */
export function wellFormedDeep<T>(value: T): T {
  if (typeof value === 'string') return (value.isWellFormed() ? value : value.toWellFormed()) as T;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = wellFormedDeep(value[i]);
  } else if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      const fixed = wellFormedDeep(obj[k]);
      if (fixed !== obj[k]) obj[k] = fixed;
      if (!k.isWellFormed()) {
        obj[k.toWellFormed()] = obj[k];
        delete obj[k];
      }
    }
  }
  return value;
}

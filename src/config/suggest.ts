import { z } from 'zod';

/** Edit distance (insertions, deletions, substitutions): small strings only, so the plain table is fine. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The object schema inside defaults, optionals, nullables and pipes; null when there is none. */
function objectOf(schema: z.core.$ZodType): z.ZodObject | null {
  let s: z.core.$ZodType | undefined = schema;
  for (let i = 0; i < 10 && s; i++) {
    if (s instanceof z.ZodObject) return s;
    const def: { innerType?: z.core.$ZodType; in?: z.core.$ZodType; element?: z.core.$ZodType } = (s as { _zod: { def: { innerType?: z.core.$ZodType; in?: z.core.$ZodType; element?: z.core.$ZodType } } })._zod.def;
    s = def.innerType ?? def.in ?? def.element;
  }
  return null;
}

/** The keys a config object accepts at a path (numeric parts step into lists); [] when the path has none. */
export function keysAt(root: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | null = root;
  for (const part of path) {
    if (typeof part === 'number') continue; // objectOf steps through list elements
    const obj: z.ZodObject | null = node ? objectOf(node) : null;
    node = obj ? ((obj.shape as Record<string, z.core.$ZodType>)[String(part)] ?? null) : null;
    if (!node) return [];
  }
  const obj = node ? objectOf(node) : null;
  return obj ? Object.keys(obj.shape) : [];
}

/** Every dotted key of the config, for a key written at the wrong level. */
export function allDottedKeys(root: z.core.$ZodType, prefix = ''): string[] {
  const obj = objectOf(root);
  if (!obj) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj.shape as Record<string, z.core.$ZodType>)) {
    const dotted = prefix ? `${prefix}.${k}` : k;
    out.push(dotted, ...allDottedKeys(v, dotted));
  }
  return out;
}

/** Close enough to be a typo: a few edits, relative to the length, or the key is one word of a known key. */
function closeness(unknown: string, known: string): number | null {
  const a = unknown.toLowerCase();
  const b = known.toLowerCase();
  const d = editDistance(a, b);
  if (d <= Math.max(1, Math.floor(Math.max(a.length, b.length) / 3))) return d;
  if (a.length >= 4 && b.split('_').includes(a)) return 10 + b.length - a.length; // retries -> max_retries
  return null;
}

/**
 * What the user probably meant by an unknown key at path: the closest key at that level, or, when
 * none is close, a key of that name elsewhere in the config (a key written in the wrong section).
 */
export function suggestKey(root: z.core.$ZodType, path: readonly PropertyKey[], unknown: string): string | null {
  const rank = (cands: string[], name: (c: string) => string) =>
    cands
      .map((c) => [c, closeness(unknown, name(c))] as const)
      .filter((x): x is readonly [string, number] => x[1] !== null)
      .sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1))[0]?.[0] ?? null;
  const here = rank(keysAt(root, path), (c) => c);
  if (here) return here;
  const elsewhere = rank(allDottedKeys(root), (c) => c.split('.').pop()!);
  return elsewhere;
}

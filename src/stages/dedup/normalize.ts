/**
 * Task statements of one task copied into several datasets differ in layout, case and volatile
 * identifiers (commit hashes, uuids, addresses, timestamps, temp paths). Those are blanked out
 * so that exact dedup sees the same statement.
 */
const VOLATILE: [RegExp, string][] = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, ' <uuid> '],
  [/\b\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?/gi, ' <time> '],
  [/\b0x[0-9a-f]+\b/gi, ' <addr> '],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b/gi, ' <hash> '],
  [/\/tmp\/[\w.-]+/g, ' <tmp> '],
  [/\b\d{6,}\b/g, ' <num> '],
];

export function normalizeStatement(text: string): string {
  let s = text;
  for (const [re, sub] of VOLATILE) s = s.replace(re, sub);
  return s.toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Word tokens of a normalised statement; placeholders such as <uuid> survive as words. */
export function statementWords(normalized: string): string[] {
  return normalized.match(/<\w+>|[\p{L}\p{N}_]+/gu) ?? [];
}

import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../bench/synth.js';
import { sameJsonKeys, stringifyFormKeys } from '../../src/io/json-canonical.js';

/** Random JSON values whose strings hold every character JSON escapes, and some that it does not. */
function randomValue(rand: () => number, depth: number): unknown {
  const pick = rand();
  const str = () => {
    const parts = ['a', '"', '\\', '/', '\n', '\t', '\u0001', '\u001f', '\u007f', 'é', '中', '👍', '\u2028', ' ', '{', ':', ','];
    return Array.from({ length: Math.floor(rand() * 10) }, () => parts[Math.floor(rand() * parts.length)]).join('');
  };
  if (depth > 3 || pick < 0.3) return str();
  if (pick < 0.4) return [0, 1, -1, 1.5, 1e21, 1e-7, 123456789.125, -2.5e-10][Math.floor(rand() * 8)];
  if (pick < 0.45) return rand() < 0.5;
  if (pick < 0.5) return null;
  if (pick < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [str(), randomValue(rand, depth + 1)]));
}

/** The same value written other ways JSON allows: spaces, escapes stringify does not use, other number forms, a repeated key. */
function variants(text: string): string[] {
  return [
    text.replace(/:/g, ': '),
    text.replace(/,/g, ', '),
    ` ${text}`,
    text.replace(/\//g, '\\/'),
    text.replace(/é/g, '\\u00e9'),
    text.replace(/\\u001f/g, '\\u001F'),
    text.replace(/\\n/g, '\\u000a'),
    text.replace(/(?<=[:\[,])1(?=[,\]}])/g, '1.0'),
    text.replace(/(?<=[:\[,])1(?=[,\]}])/g, '1e0'),
    text.replace(/^\{("[^"\\]*"):/, '{$1:0,$1:'),
  ].filter((v) => v !== text);
}

const bytes = (s: string) => Buffer.from(s);

describe('stringifyFormKeys and sameJsonKeys', () => {
  it('say a text is JSON.stringify of its own parse exactly when it is', () => {
    const rand = mulberry32(7);
    let variantsSeen = 0;
    for (let n = 0; n < 3000; n++) {
      const v = randomValue(rand, 0);
      const text = JSON.stringify(v);
      const keys = sameJsonKeys(JSON.parse(text), v);
      expect(keys).toBeGreaterThanOrEqual(0);
      expect(stringifyFormKeys(bytes(text)), text).toBe(keys);
      for (const other of variants(text)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(other);
        } catch {
          continue;
        }
        variantsSeen++;
        // The claim the ingest relies on: both checks pass only for the text JSON.stringify would write.
        const k = sameJsonKeys(parsed, v);
        const passes = k >= 0 && stringifyFormKeys(bytes(other)) === k;
        if (passes) expect(JSON.stringify(parsed)).toBe(other);
      }
    }
    expect(variantsSeen).toBeGreaterThan(3000);
  });

  it('refuse -0, numbers not in toString form, and a value whose key order differs', () => {
    expect(stringifyFormKeys(bytes('{"a":-0}'))).toBe(-1);
    expect(stringifyFormKeys(bytes('{"a":1.50}'))).toBe(-1);
    expect(stringifyFormKeys(bytes('[1E3]'))).toBe(-1);
    expect(stringifyFormKeys(bytes('{"a":1,"b":[true,null,"x\\"y"]}'))).toBe(2);
    expect(sameJsonKeys({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(-1);
    expect(sameJsonKeys({ a: [1, { c: 'x' }] }, { a: [1, { c: 'x' }] })).toBe(2);
    expect(sameJsonKeys({ a: 1 }, { a: '1' })).toBe(-1);
  });
});

import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../bench/synth.js';
import { pickFields } from '../../src/io/json-fields.js';

const enc = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

/** Random JSON values whose strings hold what trips a byte scanner: quotes, backslashes, brackets, non-ASCII. */
function randomValue(rand: () => number, depth: number): unknown {
  const pick = rand();
  const str = () => {
    const parts = ['a', '"', '\\', '\\"', '{', '}', '[', ']', ',', ':', ' ', '\n', 'é', '中', '👍', '\u2028', '\\\\"', 'x"y'];
    return Array.from({ length: Math.floor(rand() * 12) }, () => parts[Math.floor(rand() * parts.length)]).join('');
  };
  if (depth > 3 || pick < 0.3) return str();
  if (pick < 0.4) return Math.floor(rand() * 1e6) / 100 - 5000;
  if (pick < 0.45) return rand() < 0.5;
  if (pick < 0.5) return null;
  if (pick < 0.75) return Array.from({ length: Math.floor(rand() * 5) }, () => randomValue(rand, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, () => [str(), randomValue(rand, depth + 1)]));
}

describe('pickFields', () => {
  it('gives exactly what JSON.parse gives for the wanted top-level keys, on random objects', () => {
    const rand = mulberry32(12);
    for (let n = 0; n < 3000; n++) {
      const keys = ['id', 'task', 'messages', 'a"b', 'meta', 'é'];
      const obj = Object.fromEntries(keys.filter(() => rand() < 0.7).map((k) => [k, randomValue(rand, 0)]));
      const wanted = new Set(keys.filter(() => rand() < 0.5));
      const text = JSON.stringify(obj, null, rand() < 0.2 ? 2 : undefined);
      const expected = Object.fromEntries(Object.entries(obj).filter(([k]) => wanted.has(k)));
      expect(pickFields(Buffer.from(text), wanted)).toEqual(expected);
    }
  });

  it('reads a record line whose strings hold key-like text', () => {
    const line = enc({ id: 'x', messages: [{ content: '","outcome":{"resolved":true},"x":"' }], outcome: { resolved: false }, meta: { outcome: 1 } });
    expect(pickFields(line, new Set(['id', 'outcome']))).toEqual({ id: 'x', outcome: { resolved: false } });
  });

  it('takes a Uint8Array view into a larger buffer', () => {
    const whole = Buffer.from(`xx${JSON.stringify({ id: 'a', b: [1, 2] })}yy`);
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 2, whole.length - 4);
    expect(pickFields(view, new Set(['b']))).toEqual({ b: [1, 2] });
  });

  it('throws a SyntaxError for what is not a JSON object', () => {
    for (const bad of ['[1,2]', '{"a":1', '{"a" 1}', '{"a":"x}', '{"a":1}}', 'nul', '{"a":1,}']) {
      expect(() => pickFields(Buffer.from(bad), new Set(['a', 'b'])), bad).toThrow(SyntaxError);
    }
  });
});

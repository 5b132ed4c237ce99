import { describe, expect, it } from 'vitest';
import { decodeUtf8, normalizeParsed } from '../../src/core/text.js';

const deepArray = (n: number): unknown => JSON.parse('['.repeat(n) + ']'.repeat(n));

describe('normalizeParsed', () => {
  it('walks 100,000 levels without overflowing the stack and refuses more than the limit', () => {
    expect(() => normalizeParsed(deepArray(100_000), 256)).not.toThrow();
    expect(normalizeParsed(deepArray(100_000), 256)).toEqual({ ok: false, maxDepth: 256 });
    // Without a limit it still finishes (iterative), e.g. for a repair of a known-shallow value.
    expect(normalizeParsed(deepArray(100_000)).ok).toBe(true);
  });

  it('counts depth as nesting of objects and arrays: exactly the limit passes', () => {
    expect(normalizeParsed(deepArray(256), 256).ok).toBe(true);
    expect(normalizeParsed(deepArray(257), 256).ok).toBe(false);
    expect(normalizeParsed({ a: { b: 'x' } }, 2).ok).toBe(true);
    expect(normalizeParsed({ a: { b: {} } }, 2).ok).toBe(false);
    expect(normalizeParsed('text', 1)).toEqual({ ok: true, value: 'text', loneSurrogates: 0 });
  });

  it('repairs lone surrogates in values and keys and counts each', () => {
    const r = normalizeParsed({ a: ['ok', 'cut \ud83d', '\udc00\udc00'], ['k\udc00']: { b: 'fine 😀' } });
    expect(r).toEqual({ ok: true, value: { a: ['ok', 'cut \ufffd', '\ufffd\ufffd'], ['k\ufffd']: { b: 'fine 😀' } }, loneSurrogates: 4 });
  });
});

describe('decodeUtf8', () => {
  it('counts invalid sequences, not the U+FFFD the text already had', () => {
    expect(decodeUtf8(Buffer.from('plain é'))).toEqual({ text: 'plain é', invalid: 0 });
    expect(decodeUtf8(Buffer.from('has \ufffd'))).toEqual({ text: 'has \ufffd', invalid: 0 });
    expect(decodeUtf8(Buffer.concat([Buffer.from('\ufffd'), Buffer.from([0x80, 0x80])]))).toEqual({ text: '\ufffd\ufffd\ufffd', invalid: 2 });
  });
});

import { describe, expect, it } from 'vitest';
import { countInSlices, loadTokenCounter } from '../../src/core/tokenizer.js';

describe('token counter', () => {
  it('counts real tokens, not characters', async () => {
    const t = await loadTokenCounter({ kind: 'tiktoken', encoding: 'o200k_base' });
    const text = 'def paginate(items, page, size):\n    return items[(page - 1) * size : page * size]\n';
    const n = t.count(text);
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThan(text.length / 2);
    expect(t.count('<|endoftext|>')).toBeGreaterThan(1); // special-token text is plain text, never an error
  });

  it('counts pathological runs (one repeated character) by slices, close to the true count', async () => {
    const t = await loadTokenCounter({ kind: 'tiktoken', encoding: 'o200k_base' });
    const run = 'a'.repeat(2000);
    // Sliced counting may differ from the whole-piece count by about one token per 256-char slice.
    const { Tiktoken } = await import('js-tiktoken/lite');
    const ranks = (await import('js-tiktoken/ranks/o200k_base')).default;
    const exact = new Tiktoken(ranks).encode(run, [], []).length;
    expect(Math.abs(t.count(run) - exact)).toBeLessThanOrEqual(Math.ceil(run.length / 256));
  });

  it('leaves normal text whole and adds up slices of long runs', () => {
    const pieces: string[] = [];
    const count = (s: string) => (pieces.push(s), 1);
    expect(countInSlices('short text', count)).toBe(1);
    expect(pieces).toEqual(['short text']);
    pieces.length = 0;
    countInSlices(`head ${'x'.repeat(600)} tail`, count);
    expect(pieces).toEqual(['head ', 'x'.repeat(256), 'x'.repeat(256), 'x'.repeat(88), ' tail']);
  });
});

describe('piece-by-piece counting with a memo', () => {
  it('gives exactly the count of encoding the whole text', async () => {
    const t = await loadTokenCounter({ kind: 'tiktoken', encoding: 'o200k_base' });
    const { Tiktoken } = await import('js-tiktoken/lite');
    const ranks = (await import('js-tiktoken/ranks/o200k_base')).default;
    const whole = new Tiktoken(ranks);
    const texts = [
      'def paginate(items, page, size):\n    return items[(page - 1) * size : page * size]\n',
      "Traceback (most recent call last):\n  File \"/testbed/x.py\", line 12, in <module>\nValueError: can't parse '3.4e38'\n",
      'CJK 漢字とかな, emoji 👍🏽, tabs\tand  double  spaces, <|endoftext|> and "quotes"\r\n',
      '<returncode>0</returncode>\n<output>\n' + 'collected 12 items\n\ntests/test_core.py ........ [100%]\n'.repeat(20) + '</output>',
    ];
    for (const text of texts) expect(t.count(text)).toBe(whole.encode(text, [], []).length);
  });
});

describe('a Hugging Face tokenizer.json (the student\'s own tokenizer)', () => {
  it('is loaded from a folder and counts with it', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'tok-'));
    // A minimal word-level tokenizer: one token per whitespace-separated word.
    const tokenizer = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [{ id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
      normalizer: null,
      pre_tokenizer: { type: 'Whitespace' },
      post_processor: null,
      decoder: null,
      model: { type: 'WordLevel', vocab: { '[UNK]': 0, fix: 1, the: 2, bug: 3 }, unk_token: '[UNK]' },
    };
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
    const t = await loadTokenCounter({ kind: 'huggingface', path: dir });
    expect(t.name).toBe(`huggingface:${dir}`);
    expect(t.count('fix the bug')).toBe(3);
    expect(t.count('fix the unknown bug now')).toBe(5);
  });

  it('a folder without tokenizer.json is a user error before any work', async () => {
    await expect(loadTokenCounter({ kind: 'huggingface', path: '/nonexistent/model' })).rejects.toThrow(/tokenizer\.path: .*tokenizer\.json cannot be read/);
  });
});

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { describe, expect, it } from 'vitest';
import { loadVocabulary } from '../../src/core/bpe.js';
import { fastTiktokenCount, type MemoLimits, splitPieces } from '../../src/core/tiktoken-count.js';
import { countInSlices, loadTokenCounter, referenceTiktokenCount, tiktokenCount } from '../../src/core/tokenizer.js';
import { ROOT } from '../helpers/cli.js';

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

// The fast tiktoken counter (src/core/tiktoken-count.ts, pretokenize.ts) against the reference: the
// encoding's regex and js-tiktoken's encode per piece. Same pieces, same count, for every string.
describe('the fast tiktoken counter equals the reference', () => {
  const ENCODINGS = ['o200k_base', 'cl100k_base'] as const;
  const patterns = { o200k_base: (o200k as TiktokenBPE).pat_str, cl100k_base: (cl100k as TiktokenBPE).pat_str };
  const regexPieces = (text: string, enc: (typeof ENCODINGS)[number]): string[] => [...text.matchAll(new RegExp(patterns[enc], 'gu'))].map((m) => m[0]);
  // Tiny memos: every few pieces the tables fill and start afresh, probes collide and wrap.
  const TINY: MemoLimits = { pieces: [6, 40, 300], chunks: [5, 20, 400] };

  // Every piece boundary case met while writing the scanner, each also paired with every other.
  const CASES = [
    '', 'a', 'A', '1', ' ', '\n', "'", "'s", "'S", "'sfoo", "x's", "X'S", "it's", "IT'S", "don't", "DON'T", "we're", "WE'RE",
    "We'Re", "they'vE", "I'm", "I'M", "you'll", "YOU'LL", "you'lL", "he'd", "HE'D", "'re", "'r", "'l", "'ll", "'lx", "a'",
    "a''s", "a's's", "a'x", "a' s", "'t's", "'", "''", "'\n",
    'HTTPServer', 'fooBar', 'ABCdef', 'ABC', "ABC's", 'aBC', 'Abc', "ABCDEFabc'll", 'iPhone', "McDonald's", 'XMLHttpRequest',
    ' foo', '  foo', '\tfoo', '\nfoo', '(foo', '.Foo', "'foo", '"Foo"', '_foo', '$HOME', '@User', ' 123', '  123', 'a1b2',
    'abc123def', '1234567', '12345', '3.14159', '1,000,000', '0x1F', ' 1', '\t1',
    '...', ' ...', '... ', '...\n', '...\n\n', '.\n/', '.\n/usr', '//comment', ' //', ' /\n/', './a', 'a/b/c', '?!\r\n',
    '=\r\n\r\n=', '-->\n', '}\n}\n', ' \\', '\\n', '#!/bin/sh\n', '->', ' ->\n/', '/\n/\n/',
    '  ', '   x', 'a  b', 'a \n b', ' \n', '\n ', '\n\n', '\r\n', '\r\n\r\n', 'a\r\nb', '\t\t', 'a\t\tb', ' \t\n \tx', '\v', '\f',
    'a\vb', 'x \v y', 'abc   ', 'abc\n   ', '   ', '\n   \n   x', '\r', '\r\r\n ', ' \r', 'x \t',
    '\x00', 'a\x00b', '\x1c\x1d\x1e\x1f', '\x7f', ' \x1f', '\x1fa', '\x08\x0e',
    'é', 'café', "Café's", 'naïve', 'straße', 'ñandú', 'ΩMEGA', 'Ωmega', 'aΩ', 'AΩb', '中文', ' 中文', '日本語テキスト', '한국어',
    'e\u0301', 'E\u0301E', 'a\u0301b', ' \u0301', '\u0301', '\u0301a', 'ǅemal', 'ʰa', 'aʰ', 'ªb', 'ﬁx', 'Σίσυφος', 'İi',
    '٣٤٥', '१२३', 'a٣', '12٣', '1²', 'Ⅻ', '９９９', '1١', ' ٣',
    '👍', '👍🏽', ' 👍', 'a👍b', '❤️', '👨‍👩‍👧', '!👍', ' !👍', '\u200d', 'a\u200db',
    '\ud800', 'a\ud800b', '\udc00', '\ud800\ud800', '\udc00\ud800', ' \ud83d', 'x\ud83d', '\ud83d\n', "'\ud800", '1\udc00',
    'a\u00a0b', '\u00a0', 'a \u00a0b', ' \u00a0 x', '\u2028', 'a\u2028b', '\u2029\n', '\u3000x', '\ufeffx', '\u0085x', '\u1680',
    ' \u2028', '\n\u00a0', 'x\u00a0\n', '\u00a0\u00a0y',
    '<|endoftext|>', '<|endoftext|><|endoftext|>', ' <|fim_prefix|>', '<|endofprompt|>', '<|im_start|>user\n',
    'a'.repeat(257), 'a'.repeat(1000), '='.repeat(300), ' '.repeat(300), '\n'.repeat(300), 'ab'.repeat(300), 'x'.repeat(256),
    `${'x'.repeat(255)}é`, 'é'.repeat(300), '👍'.repeat(200), '1'.repeat(1000), ` ${'-'.repeat(600)}\n`, `${'A'.repeat(300)}b`,
    "'".repeat(300), `${' '.repeat(299)}x`, `${'\t'.repeat(260)}\n`, `x${'/'.repeat(400)}\n\n`,
    'a\nb', 'a\n b', 'a\n\tb', 'a\n/b', 'a\n /b', '.\n/b', '.\n /b', 'a\n\nb', 'a\n \nb', 'a\n  ', 'a\n ', 'a \n\n b', 'x.\n\n/',
    'x\n\u00a0y', 'x\n é', 'x\n\r\ny', 'foo\nbar\nbaz\n', 'x\n\vy', 'x\n\fy', ' \n\t\n  x', 'x\n\x1fy', 'x\n中',
    'same line here\nsame line here\n same line here\nsame line here', `${'line of text\n'.repeat(12)}x`, `x\n${'y'.repeat(5000)}`,
  ];
  const PAIRS = CASES.flatMap((a) => CASES.map((b) => a + b));
  // Counting pairs with the long cases makes thousands of distinct long pieces, milliseconds each for
  // js-tiktoken's BPE; their splitting is tested with all pairs, their counting on their own.
  const SHORT = CASES.filter((c) => c.length < 200);
  const SHORT_PAIRS = SHORT.flatMap((a) => SHORT.map((b) => a + b));

  // Random strings from a biased alphabet: letters of both cases, digits, punctuation, every kind of
  // white space, contractions, other scripts, marks, other digits, emoji, lone surrogates, special-token
  // text, long runs; cut at a random length (cutting surrogate pairs too).
  const ATOMS = [
    ...'abcdefghijklmnopqrstuvwxyz'.split(''), ...'ABCDEFXYZ'.split(''), 'e', 't', 's', 'A', 'S', 'T', ...'0123456789'.split(''),
    ...".,;:!?()[]{}<>=+-*/\\|\"'`~@#$%^&_".split(''), '/', '/', '//', "'", "'", "'s", "'S", "'t", "'re", "'RE", "'Re", "'ve",
    "'m", "'ll", "'LL", "'lL", "'d", "'D", ' ', ' ', ' ', ' ', '  ', '\t', '\n', '\n', '\r\n', '\r', '\v', '\f', '\n  ', '\n\t',
    '\u00a0', '\u2028', '\u2029', '\u3000', '\u1680', '\u202f', '\ufeff', '\u0085', '\x00', '\x1c', '\x1f', '\x7f',
    'é', 'ß', 'ñ', 'Ω', 'ω', 'ǅ', 'ʰ', 'ª', '中', '文', '日本', '한국', 'É', '\u0301', '\u0308', '٣', '३', '²', 'Ⅻ', '９',
    '👍', '👍🏽', '🎉', '❤️', '\u200d', '\ud800', '\udc00', '\udbff', '<|endoftext|>', '<|fim_middle|>',
    'HTTPServer', 'fooBar', 'ABCdef', "don't", "I'M", '/usr/bin', 'https://x.y/z?q=1', '12345678', '3.14', '...', '->', '\\n',
  ];
  const LONG = ['a', 'Z', '=', '-', ' ', '\n', '\t', '1', 'é', '👍', "'", '/', 'ab', ' a'];
  const random = (seed: number): (() => number) => () => {
    seed = (seed + 0x6d2b79f5) | 0; // mulberry32
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // js-tiktoken's BPE takes milliseconds for one long piece, and random long runs make thousands of
  // distinct ones: the counting tests leave them out (the cases above hold long runs), the splitting tests
  // keep them.
  const randomStrings = (count: number, seed: number, longRuns: boolean): string[] => {
    const rnd = random(seed);
    const out: string[] = [];
    for (let k = 0; k < count; k++) {
      const length = rnd() < 0.95 ? Math.floor(rnd() * 100) : Math.floor(rnd() * 2001); // 0-2000, mostly short
      let s = '';
      while (s.length < length) {
        if (longRuns && rnd() < 0.01) s += LONG[Math.floor(rnd() * LONG.length)]!.repeat(1 + Math.floor(rnd() * 600));
        else if (rnd() < 0.1 && s.length > 10) s += s.slice(0, Math.floor(rnd() * s.length)); // repeats: memo hits
        else s += ATOMS[Math.floor(rnd() * ATOMS.length)];
      }
      out.push(s.slice(0, length));
    }
    return out;
  };

  it('uses js-tiktoken\'s vocabulary unchanged', async () => {
    const { Tiktoken } = await import('js-tiktoken/lite');
    for (const bpe of [o200k, cl100k] as TiktokenBPE[]) {
      const ours = loadVocabulary(bpe).ranks;
      const theirs = new Tiktoken(bpe) as unknown as { rankMap: Map<string, number>; textMap: Map<number, Uint8Array> };
      expect(ours.size).toBe(theirs.rankMap.size);
      expect(theirs.textMap.size).toBe(theirs.rankMap.size);
      let same = 0;
      for (const [rank, bytes] of theirs.textMap) if (ours.rank(bytes, 0, bytes.length) === rank) same++;
      expect(same).toBe(ours.size);
    }
  });

  for (const enc of ENCODINGS) {
    it(`${enc}: splits into the regex's pieces (boundary cases, their pairs, 150,000 random strings)`, () => {
      const texts = [...CASES, ...PAIRS, ...randomStrings(150_000, enc === 'o200k_base' ? 1 : 2, true)];
      let pieces = 0;
      for (const text of texts) {
        const expected = regexPieces(text, enc);
        const got = splitPieces(text, enc, patterns[enc]);
        if (got.length !== expected.length || got.some((p, i) => p !== expected[i])) expect({ text, got }).toEqual({ text, got: expected });
        pieces += got.length;
      }
      expect(pieces).toBeGreaterThan(1_000_000);
    });

    it(`${enc}: counts exactly as the reference (boundary cases, their pairs, 30,000 random strings; warm memos, and tiny ones on a quarter)`, () => {
      const reference = referenceTiktokenCount(enc);
      const fast = tiktokenCount(enc);
      const tiny = fastTiktokenCount(loadVocabulary(enc === 'o200k_base' ? o200k : cl100k), enc, TINY);
      const texts = [...CASES, ...SHORT_PAIRS, ...randomStrings(30_000, enc === 'o200k_base' ? 3 : 4, false)];
      for (const [k, text] of texts.entries()) {
        const want = reference(text);
        const got = fast(text);
        const gotTiny = k % 4 === 0 ? tiny(text) : want; // every piece a miss: slow
        if (got !== want || gotTiny !== want) expect({ text, got, gotTiny }).toEqual({ text, got: want, gotTiny: want });
      }
    });

    it(`${enc}: counts exactly as the reference on the real trajectories in ../shared/corpus`, (ctx) => {
      if (!existsSync(SHARED)) {
        console.warn(`\n*** SKIPPED (../shared/corpus not found): ${SHARED}; the real-corpus exactness test of the token counter needs it ***\n`);
        ctx.skip();
      }
      const texts = (real ??= realTexts(SHARED));
      expect(texts.length).toBeGreaterThan(100);
      const reference = referenceTiktokenCount(enc);
      const fast = tiktokenCount(enc);
      let n = 0;
      for (const text of texts) {
        const want = reference(text);
        if (fast(text) !== want) expect({ text, got: fast(text) }).toEqual({ text, got: want });
        n += want;
      }
      expect(n).toBeGreaterThan(1_000_000);
    });
  }
});

const SHARED = resolve(ROOT, '../shared/corpus');
let real: string[] | undefined;

/** Every string of 64+ characters in the JSON, .traj and JSONL files under dir (where the texts of trajectories are). */
function realTexts(dir: string): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length >= 64) out.add(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  const visit = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const p = join(path, entry.name);
      if (entry.isDirectory()) visit(p);
      else if (p.endsWith('.jsonl')) readFileSync(p, 'utf8').split('\n').filter(Boolean).forEach((l) => walk(JSON.parse(l)));
      else if (/\.(json|traj)$/.test(p)) walk(JSON.parse(readFileSync(p, 'utf8')));
    }
  };
  visit(dir);
  return [...out];
}

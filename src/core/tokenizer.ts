import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Tiktoken as TiktokenType, TiktokenBPE } from 'js-tiktoken/lite';
import type { TokenizerConfig } from '../../schemas/config/tokenizer.js';
import type { Message } from '../../schemas/index.js';
import { UserError } from './errors.js';

export interface TokenCounter {
  /** A name for manifests, e.g. "tiktoken:o200k_base" or "huggingface:/models/qwen". */
  readonly name: string;
  count(text: string): number;
}

/** Tokens a chat template adds around each message (role markers, separators): a close, fixed estimate. */
export const PER_MESSAGE_OVERHEAD = 4;

/** Tokens of a conversation as a chat-templated prompt: content, reasoning and tool calls, plus per-message overhead. */
export function countMessageTokens(counter: TokenCounter, messages: readonly Message[]): number {
  let n = 0;
  for (const m of messages) {
    n += PER_MESSAGE_OVERHEAD + counter.count(m.content);
    if (m.reasoning_content) n += counter.count(m.reasoning_content);
    for (const c of m.tool_calls ?? []) n += counter.count(c.function.name) + counter.count(c.function.arguments);
  }
  return n;
}

/** Longest run of non-space characters handed to the BPE at once. */
const MAX_RUN = 256;
const LONG_RUN = new RegExp(`\\S{${MAX_RUN + 1},}`, 'g');

/**
 * BPE merging is quadratic in the length of one pre-tokenised piece, and agent observations hold
 * pathological pieces (a 10 KB line of "=" or of one repeated letter took tiktoken 49 s). Long runs of
 * non-space characters are counted in slices of MAX_RUN: the count can differ by about one token per
 * slice boundary, and the time becomes linear.
 */
export function countInSlices(text: string, countPiece: (s: string) => number, memo?: Map<string, number>): number {
  let total = 0;
  let last = 0;
  for (const m of text.matchAll(LONG_RUN)) {
    if (m.index > last) total += countPiece(text.slice(last, m.index));
    for (let i = 0; i < m[0].length; i += MAX_RUN) total += countSlice(m[0].slice(i, i + MAX_RUN), countPiece, memo);
    last = m.index + m[0].length;
  }
  if (last < text.length) total += countPiece(last === 0 ? text : text.slice(last));
  return total;
}

/** Long runs are mostly one character repeated ("=====", "-----"): their slices repeat, so their counts are memoised. */
function countSlice(slice: string, countPiece: (s: string) => number, memo: Map<string, number> | undefined): number {
  if (!memo) return countPiece(slice);
  let n = memo.get(slice);
  if (n === undefined) {
    n = countPiece(slice);
    if (memo.size >= 4096) memo.clear();
    memo.set(slice, n);
  }
  return n;
}

const require = createRequire(import.meta.url);
const cache = new Map<string, Promise<TokenCounter>>();

/**
 * Loads a tokenizer once per process and configuration. The vocabulary itself (over a second to parse)
 * is loaded on the first count, so a run whose texts are all short enough to need no counting never pays
 * for it; a bad tokenizer path is still reported at once, before any work.
 */
export function loadTokenCounter(config: TokenizerConfig): Promise<TokenCounter> {
  const key = JSON.stringify(config);
  let found = cache.get(key);
  if (!found) {
    found = config.kind === 'tiktoken' ? Promise.resolve(lazy(`tiktoken:${config.encoding}`, () => tiktokenCount(config.encoding))) : huggingFace(config.path);
    cache.set(key, found);
  }
  return found;
}

function lazy(name: string, load: () => (text: string) => number): TokenCounter {
  let count: ((text: string) => number) | null = null;
  return { name, count: (text) => (count ??= load())(text) };
}

function tiktokenCount(encoding: 'o200k_base' | 'cl100k_base'): (text: string) => number {
  // The CommonJS builds load synchronously, so the first count can load them.
  const { Tiktoken } = require('js-tiktoken/lite') as { Tiktoken: typeof TiktokenType };
  const ranks = require(`js-tiktoken/ranks/${encoding}`) as TiktokenBPE;
  const enc = new Tiktoken(ranks);
  // tiktoken splits text with this pattern and encodes each piece on its own, so counting piece by
  // piece gives the same total; agent text repeats its pieces (identifiers, paths, log words) so much
  // that memoising their counts makes counting several times faster.
  const pieces = new RegExp(ranks.pat_str, 'gu');
  const memo = new Map<string, number>();
  const countPiece = (piece: string): number => {
    if (piece.length > MAX_RUN) return countInSlices(piece, (s) => enc.encode(s, [], []).length, memo);
    let n = memo.get(piece);
    if (n === undefined) {
      n = enc.encode(piece, [], []).length; // special-token text inside a trajectory is just text
      if (memo.size >= 200_000) memo.clear();
      memo.set(piece, n);
    }
    return n;
  };
  return (text) => {
    let n = 0;
    for (const m of text.matchAll(pieces)) n += countPiece(m[0]);
    return n;
  };
}

async function huggingFace(dir: string): Promise<TokenCounter> {
  const file = join(dir, 'tokenizer.json');
  if (!(await stat(file).catch(() => null))?.isFile()) {
    throw new UserError(`tokenizer.path: ${file} cannot be read; point it at a folder holding the student's tokenizer.json.`);
  }
  return lazy(`huggingface:${dir}`, () => {
    const { Tokenizer } = require('@huggingface/tokenizers') as typeof import('@huggingface/tokenizers');
    const json = (name: string): object => JSON.parse(readFileSync(join(dir, name), 'utf8')) as object;
    let config: object = {};
    try {
      config = json('tokenizer_config.json');
    } catch {
      config = {};
    }
    const tokenizer = new Tokenizer(json('tokenizer.json'), config);
    const memo = new Map<string, number>();
    return (text) => countInSlices(text, (piece) => tokenizer.encode(piece, { add_special_tokens: false }).ids.length, memo);
  });
}

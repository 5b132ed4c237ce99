import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Tiktoken as TiktokenType, TiktokenBPE } from 'js-tiktoken/lite';
import type { TokenizerConfig } from '../../schemas/config/tokenizer.js';
import type { Message } from '../../schemas/index.js';
import { loadVocabulary, type Vocabulary } from './bpe.js';
import { UserError } from './errors.js';
import { countInSlices, fastTiktokenCount, MAX_RUN } from './tiktoken-count.js';

export { countInSlices };

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

const require = createRequire(import.meta.url);
const cache = new Map<string, Promise<TokenCounter>>();

/**
 * Loads a tokenizer once per process and configuration. The vocabulary itself (0.15 s for tiktoken's,
 * more for a tokenizer.json) is loaded on the first count, so a run whose texts are all short enough to
 * need no counting never pays for it; a bad tokenizer path is still reported at once, before any work.
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

type TiktokenEncoding = 'o200k_base' | 'cl100k_base';
const vocabularies = new Map<TiktokenEncoding, Vocabulary>();
const encoders = new Map<TiktokenEncoding, TiktokenType>();

/** Exact token counts with a fresh memo: the same number as `referenceTiktokenCount` for every string, faster. */
export function tiktokenCount(encoding: TiktokenEncoding): (text: string) => number {
  let vocab = vocabularies.get(encoding);
  if (!vocab) {
    // The CommonJS build loads synchronously, so the first count can load it.
    vocab = loadVocabulary(require(`js-tiktoken/ranks/${encoding}`) as TiktokenBPE);
    vocabularies.set(encoding, vocab);
  }
  return fastTiktokenCount(vocab, encoding);
}

/**
 * The reference count, the counter before the fast one (kept for the tests and the benchmark): the
 * encoding's own pattern splits the text, each piece is counted by js-tiktoken on its own (long pieces
 * in slices). The fast counter must return exactly this number for every string.
 */
export function referenceTiktokenCount(encoding: TiktokenEncoding): (text: string) => number {
  const ranks = require(`js-tiktoken/ranks/${encoding}`) as TiktokenBPE;
  const { Tiktoken } = require('js-tiktoken/lite') as { Tiktoken: typeof TiktokenType };
  const enc = encoders.get(encoding) ?? new Tiktoken(ranks); // 0.6 s for o200k, so kept
  encoders.set(encoding, enc);
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

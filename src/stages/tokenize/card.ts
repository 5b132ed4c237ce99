import type { OutputFile } from '../../../schemas/index.js';

export interface OutcomeTally {
  rows: number;
  tokens: number;
  trainedTokens: number;
}

export interface TokenizeTally {
  byOutcome: Record<string, OutcomeTally>;
  truncated: number;
  /** Tokens of the truncated rows before the cut. */
  tokensCut: number;
  maxTokens: number;
}

export const emptyTokenizeTally = (): TokenizeTally => ({ byOutcome: {}, truncated: 0, tokensCut: 0, maxTokens: 0 });

export interface TokenizeCardInput {
  tokenizer: string;
  generationPrompt: string;
  endOfTurn: string;
  objectArguments: boolean;
  maxSeqLen: number | null;
  tally: TokenizeTally;
  dropped: Record<string, number>;
  shards: OutputFile[];
  packed: { files: OutputFile[]; sequences: number } | null;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** The tokenize stage's own card (README.md in its folder): token counts the export card cannot know. */
export function renderTokenizeCard(c: TokenizeCardInput): string {
  const outcomes = Object.keys(c.tally.byOutcome).sort();
  const total = outcomes.reduce((t, k) => ({ rows: t.rows + c.tally.byOutcome[k]!.rows, tokens: t.tokens + c.tally.byOutcome[k]!.tokens, trainedTokens: t.trainedTokens + c.tally.byOutcome[k]!.trainedTokens }), { rows: 0, tokens: 0, trainedTokens: 0 });
  const line = (name: string, t: OutcomeTally) => `| ${name} | ${fmt(t.rows)} | ${fmt(t.tokens)} | ${fmt(t.trainedTokens)} |`;
  const dropped = Object.entries(c.dropped).sort(([a], [b]) => a.localeCompare(b));
  const files = (list: OutputFile[], dir: string) => list.map((o) => `| \`${dir}${o.path}\` | ${fmt(o.records)} | ${fmt(o.bytes)} |`).join('\n');
  return `# Tokenized shards

The exported rows rendered with the student's chat template and tokenized with its tokenizer
(\`${c.tokenizer}\`), as \`apply_chat_template(messages, tools=..., tokenize=True)\` does. \`labels\` equal
\`input_ids\` on the tokens of assistant messages with \`loss: true\` (from just after the assistant opening
${JSON.stringify(c.generationPrompt)} up to and including the end of turn ${JSON.stringify(c.endOfTurn)}) and are -100 everywhere
else; they are not shifted (the model shifts them). Tool-call arguments reach the template as ${c.objectArguments ? 'objects' : 'the exported JSON strings'}.
max_seq_len: ${c.maxSeqLen ?? 'none'}. How the spans are found: docs/tokenized.md.

## Tokens per outcome

| outcome | rows | tokens | trained tokens |
|---|---|---|---|
${outcomes.map((k) => line(k, c.tally.byOutcome[k]!)).join('\n')}
${line('**total**', total)}

Longest row: ${fmt(c.tally.maxTokens)} tokens. Rows cut after their last trained token to fit max_seq_len: ${fmt(c.tally.truncated)} (${fmt(c.tally.tokensCut)} untrained tokens dropped).
Rows not tokenized: ${dropped.length ? dropped.map(([k, v]) => `${k}: ${fmt(v)}`).join(', ') : 'none'} (one line each in \`rejects.jsonl\`).

## Files

| file | rows | bytes |
|---|---|---|
${files(c.shards, '')}${c.packed ? `\n${files(c.packed.files, '')}` : ''}

Columns: \`id\`, \`task_id\`, \`outcome\`, \`input_ids\`, \`labels\`, \`attention_mask\` (all ones: no padding), \`num_tokens\`,
\`trained_tokens\`, \`truncated\`.${c.packed ? ` Packed shards (\`packed/\`, ${fmt(c.packed.sequences)} sequences of at most ${c.maxSeqLen} tokens): \`input_ids\`, \`labels\`, \`position_ids\` (restart at 0 for each row), \`seq_lengths\`, \`ids\`, \`num_tokens\`, \`trained_tokens\`; no \`attention_mask\`, on purpose: pass \`position_ids\` with flash-attention (padding-free), never a 2-D mask.` : ''}

## Training with TRL

TRL's \`SFTTrainer\` (1.x) takes a dataset with \`input_ids\` as pre-tokenized and uses its \`labels\` as they
are; \`max_length=None\` keeps its default (1024) from truncating the rows:

\`\`\`python
from datasets import load_dataset
from trl import SFTConfig, SFTTrainer

ds = load_dataset("parquet", data_files="data/*.parquet", split="train")
ds = ds.select_columns(["input_ids", "labels", "attention_mask"])
args = SFTConfig(output_dir="out", max_length=None)
SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tokenizer).train()
\`\`\`
${c.packed ? `
Packed: \`data_files="packed/*.parquet"\`, \`select_columns(["input_ids", "labels", "seq_lengths"])\`, \`SFTConfig(padding_free=True, ...)\` with flash attention.
` : ''}
A plain PyTorch / transformers loop can use \`input_ids\`, \`attention_mask\` and \`labels\` as they are.
`;
}

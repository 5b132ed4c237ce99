import { stringify } from 'yaml';
import { CurveShape, type OutputFile, type StageManifest } from '../../../schemas/index.js';
import type { HfFeature } from './features.js';

// The dataset card (<export>/README.md): Hugging Face front matter plus a body a researcher reads
// before training. Rendered from counts only, never from clocks or paths, so identical runs give
// byte-identical cards.

export interface OutcomeTally {
  rows: number;
  assistantTurns: number;
  trainedTurns: number;
}

/** What export counts while it writes rows. */
export interface ExportTally {
  rows: number;
  byOutcome: Record<string, OutcomeTally>;
  byHarness: Record<string, number>;
  byModel: Record<string, number>;
  byLabeler: Record<string, number>;
  shapes: Record<string, number>;
  /** Failed (and unknown, segmented) runs: agent turns they took, turns trained, messages cut after the span. */
  failed: { rows: number; agentTurns: number; trainedTurns: number; messagesCut: number };
}

export function emptyTally(): ExportTally {
  return { rows: 0, byOutcome: {}, byHarness: {}, byModel: {}, byLabeler: {}, shapes: {}, failed: { rows: 0, agentTurns: 0, trainedTurns: 0, messagesCut: 0 } };
}

export interface CardInput {
  name: string;
  description: string | null;
  packageVersion: string;
  schemaVersion: string;
  features: HfFeature[];
  shards: readonly OutputFile[];
  tally: ExportTally;
  /** Manifests of ingest..segment that produced export's input (may be partial or empty). */
  lineage: readonly StageManifest[];
  exportConfig: unknown;
  exportDropped: Record<string, number>;
}

const sortedEntries = (r: Record<string, number>) => Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const pct = (n: number, d: number) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}%`);
const cell = (s: string) => s.replace(/\|/g, '\\|');

function table(head: string[], rows: (string | number)[][]): string {
  if (rows.length === 0) return '_none_\n';
  const line = (r: (string | number)[]) => `| ${r.map((c) => cell(String(c))).join(' | ')} |`;
  const numeric = head.map((_, c) => rows.every((r) => typeof r[c] === 'number' || /^[\d.]+%$|^–$/.test(String(r[c]))));
  return [line(head), `|${numeric.map((n) => (n ? '---:' : '---')).join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}

function countTable(title: string, counts: Record<string, number>, total: number): string {
  return table([title, 'rows', 'share'], sortedEntries(counts).map(([k, v]) => [k, v, pct(v, total)]));
}

function frontMatter(input: CardInput): string {
  const meta = {
    pretty_name: input.name,
    tags: ['trajpipe', 'sft', 'agent-trajectories', 'credit-assignment', 'loss-masks'],
    task_categories: ['text-generation'],
    configs: [{ config_name: 'default', data_files: [{ split: 'train', path: 'data/train-*.parquet' }] }],
    dataset_info: {
      features: input.features,
      splits: [{ name: 'train', num_examples: input.tally.rows }],
      download_size: input.shards.reduce((a, s) => a + s.bytes, 0),
    },
  };
  return `---\n${stringify(meta, { lineWidth: 0 })}---\n`;
}

function shapesSection(input: CardInput): string {
  const segment = input.lineage.find((m) => m.stage === 'segment');
  const labelled = (segment?.stats['curve_shapes'] ?? null) as Record<string, number> | null;
  const labelledTotal = labelled ? Object.values(labelled).reduce((a, b) => a + b, 0) : 0;
  const exportedTotal = Object.values(input.tally.shapes).reduce((a, b) => a + b, 0);
  const rows = CurveShape.options.map((s) => [
    s,
    labelled ? (labelled[s] ?? 0) : '–',
    labelled ? pct(labelled[s] ?? 0, labelledTotal) : '–',
    input.tally.shapes[s] ?? 0,
    pct(input.tally.shapes[s] ?? 0, exportedTotal),
  ]);
  return (
    `## Curve shapes\n\n` +
    `Shape of the value curve of every labelled failed run the segment stage saw (${labelledTotal}), kept or dropped, and of the exported failed runs (${exportedTotal}). ` +
    `The Orchard authors report an inverted U almost always; a teacher that disagrees shows up here.\n\n` +
    table(['shape', 'labelled runs', 'fraction', 'exported rows', 'fraction'], rows)
  );
}

function rejectsSection(input: CardInput): string {
  const rows: (string | number)[][] = [];
  for (const m of input.lineage) for (const [reason, n] of sortedEntries(m.dropped)) rows.push([m.stage, reason, n]);
  for (const [reason, n] of sortedEntries(input.exportDropped)) rows.push(['export', reason, n]);
  const flow = input.lineage.map((m) => [m.stage, m.records_in, m.records_out, m.records_in - m.records_out]);
  const note =
    input.lineage.length === 0 || input.lineage[0]!.stage !== 'ingest'
      ? `Manifests of the earlier stages were not found beside this folder, so this lists only what was available.\n\n`
      : '';
  return (
    `## Records in, out and rejected\n\n${note}` +
    table(['stage', 'in', 'out', 'dropped'], flow) +
    `\nEvery dropped record is listed with a sentence naming its file and record in \`<run>/<stage>/rejects.jsonl\`.\n\n` +
    table(['stage', 'reject reason', 'records'], rows)
  );
}

function configSection(input: CardInput): string {
  const slices: Record<string, unknown> = {};
  for (const m of input.lineage) slices[m.stage] = m.config;
  slices['export'] = input.exportConfig;
  return (
    `## Pipeline config that produced it\n\n` +
    `Each stage's config slice, as recorded in its manifest (these are what the stage fingerprints hash):\n\n` +
    '```yaml\n' +
    stringify(slices, { lineWidth: 0 }) +
    '```\n'
  );
}

function loadingSection(): string {
  return `## How to load it

Paths below are relative to this folder (the one holding this README.md and \`data/\`).

**🤗 datasets** (the front matter above declares the files and features, so the folder itself loads):

\`\`\`python
from datasets import load_dataset

ds = load_dataset("parquet", data_files={"train": "data/train-*.parquet"}, split="train")
# or, using this card's configs and features:
ds = load_dataset("path/to/this/folder", split="train")
row = ds[0]
trained = [m for m in row["messages"] if m["loss"]]   # the assistant turns that carry loss
\`\`\`

**DuckDB** (trained turns per outcome, then the trained turns themselves):

\`\`\`sql
SELECT outcome, count(*) AS rows, sum(len(list_filter(messages, lambda m: m.loss))) AS trained_turns
FROM read_parquet('data/*.parquet') GROUP BY outcome ORDER BY outcome;

SELECT id, i - 1 AS message_index, m.step_value, m.content
FROM (SELECT id, unnest(messages) AS m, unnest(generate_series(1, len(messages))) AS i FROM read_parquet('data/*.parquet'))
WHERE m.loss ORDER BY id, message_index;
\`\`\`

**axolotl** (\`chat_template\` datasets read a per-message training flag through \`message_field_training\`; a message
whose flag is null falls back to \`roles_to_train\`, so system, user and tool messages stay masked):

\`\`\`yaml
chat_template: tokenizer_default
datasets:
  - path: path/to/this/folder
    split: train
    type: chat_template
    field_messages: messages
    message_property_mappings:
      role: role
      content: content
    message_field_training: loss
    roles_to_train: ["assistant"]
    train_on_eos: turn
\`\`\`

**ms-swift** reads a message's \`loss\` key natively (true: trained, false: masked, null: the default for its role),
so the rows need no conversion:

\`\`\`bash
swift sft \\
  --model Qwen/Qwen2.5-7B-Instruct \\
  --train_type lora \\
  --dataset path/to/this/folder \\
  --max_length 32768
\`\`\`

**TRL**: \`SFTTrainer(assistant_only_loss=True)\` trains every assistant turn, which would train the failed runs' turns
after their peak. Tokenize with the \`loss\` flags instead and hand the trainer the masks:

\`\`\`python
from datasets import load_dataset
from transformers import AutoTokenizer
from trl import SFTConfig, SFTTrainer

tok = AutoTokenizer.from_pretrained("Qwen/Qwen2.5-7B-Instruct")

def tokenize(row):
    msgs = [{k: v for k, v in m.items() if k in ("role", "content", "tool_calls", "tool_call_id", "name") and v is not None}
            for m in row["messages"]]
    ids, mask = [], []
    for i, m in enumerate(row["messages"]):
        upto = tok.apply_chat_template(msgs[: i + 1], tokenize=True)   # assumes the template renders prefixes stably
        new = upto[len(ids):]
        ids += new
        mask += [1 if m["loss"] else 0] * len(new)
    return {"input_ids": ids, "assistant_masks": mask}

ds = load_dataset("parquet", data_files={"train": "data/train-*.parquet"}, split="train")
ds = ds.map(tokenize, remove_columns=ds.column_names)
trainer = SFTTrainer(model="Qwen/Qwen2.5-7B-Instruct", train_dataset=ds,
                     args=SFTConfig(output_dir="out", assistant_only_loss=True, max_length=32768))
\`\`\`

The datasets and DuckDB snippets are checked against trajpipe's own exports; the trainer configs follow each
trainer's documented options and were not run by trajpipe (it trains nothing). Tool calls are kept in OpenAI form
(\`tool_calls[].function.arguments\` is the JSON string the model wrote); check that your chat template renders them.

When the pipeline sets \`formats.enabled\`, the same rows in veRL, slime, NeMo-RL, LLaMA-Factory and TRL form, with the rows each
trainer can train exactly and the config lines for axolotl and ms-swift, are in \`../formats/\` (one folder per trainer, each with a README).
`;
}

export function renderCard(input: CardInput): string {
  const t = input.tally;
  const outcomes = ['resolved', 'failed', 'unknown'].filter((o) => t.byOutcome[o]);
  const outcomeRows = outcomes.map((o) => {
    const x = t.byOutcome[o]!;
    return [o, x.rows, x.assistantTurns, x.trainedTurns, pct(x.trainedTurns, x.assistantTurns)];
  });
  const f = t.failed;
  const parts = [
    frontMatter(input),
    `# ${input.name}\n`,
    input.description ? `${input.description}\n` : '',
    `Credit-assignment SFT data made by trajpipe ${input.packageVersion} (record schema ${input.schemaVersion}). ` +
      `Resolved runs are trained on every agent turn. A failed run is trained only on its agent turns up to the peak of its ` +
      `hindsight value curve (the last moment it could still have succeeded), never on its submitting turn; see docs/segmentation.md.\n`,
    `## Columns\n\n` +
      `- \`messages[].loss\`: \`true\` on a trained assistant turn, \`false\` on an assistant turn that must be masked, \`null\` on system, user and tool messages (never trained).\n` +
      `- \`messages[].step_value\`: the labeler's hindsight success probability after this assistant turn (null when unlabelled).\n` +
      `- \`train_start\` / \`train_end\`: first and last trained message index; \`step_values\`: the run's whole value curve, one value per agent turn.\n` +
      `- \`curve_shape\`, \`labeler\`, \`prompt_version\`, \`outcome\` (\`resolved\` / \`failed\` / \`unknown\`), \`source\` (harness/format), \`teacher_model\` (the model that produced the run), \`metadata\` (JSON: task, source file and record, peak and critical step).\n` +
      `- By default a failed run's messages end with its last trained turn: with causal attention, later turns cannot change the loss on earlier ones.\n`,
    `## Contents\n\n${t.rows} rows in ${input.shards.length} shard(s).\n\n` +
      table(['outcome', 'rows', 'assistant turns exported', 'trained turns', 'trained share'], outcomeRows),
    `## Agent turns recovered from failed runs\n\n` +
      `${f.rows} failed run(s) are exported. They took ${f.agentTurns} agent turns; ${f.trainedTurns} of them (${pct(f.trainedTurns, f.agentTurns)}) are trained, ` +
      `signal that outcome-filtered SFT would have thrown away. ${f.messagesCut} message(s) after the trained spans were cut.\n`,
    shapesSection(input),
    `## By harness\n\n` + countTable('harness', t.byHarness, t.rows),
    `## By trajectory model\n\n` + countTable('model that produced the run', t.byModel, t.rows),
    `## By labeler\n\n` + countTable('labeler (model, prompt version)', t.byLabeler, t.rows),
    rejectsSection(input),
    configSection(input),
    loadingSection(),
  ];
  return parts.filter((p) => p !== '').join('\n');
}

import { stringify } from 'yaml';
import { CurveShape, type OutputFile, type StageManifest } from '../../../schemas/index.js';
import type { HfFeature } from './features.js';
import { scrubUrlsDeep } from '../../core/endpoint.js';
import { policySection, type PolicyCardInput } from './card-policy.js';

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
  /** Hugging Face license id (export.card.license; 'unknown' until the user says). */
  license: string;
  /** Hugging Face language tags (export.card.language). */
  language: readonly string[];
  /** The credit-assignment policy that made this dataset and its siblings (absent: the section is left out). */
  policy?: PolicyCardInput;
}

/** The Hugging Face size category of a dataset of n rows. */
export function sizeCategory(n: number): string {
  const steps: [number, string][] = [
    [1e3, 'n<1K'],
    [1e4, '1K<n<10K'],
    [1e5, '10K<n<100K'],
    [1e6, '100K<n<1M'],
    [1e7, '1M<n<10M'],
    [1e8, '10M<n<100M'],
    [1e9, '100M<n<1B'],
  ];
  for (const [limit, label] of steps) if (n < limit) return label;
  return 'n>1B';
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

function licenseNote(input: CardInput): string {
  return input.license === 'unknown'
    ? `**License: unknown.** trajpipe does not know the terms of the trajectories it read (harness runs, benchmarks and the models that produced them each have their own); set \`export.card.license\` before publishing.\n`
    : '';
}

function frontMatter(input: CardInput): string {
  const meta = {
    pretty_name: input.name,
    license: input.license,
    language: [...input.language],
    size_categories: [sizeCategory(input.tally.rows)],
    task_categories: ['text-generation'],
    tags: ['trajpipe', 'sft', 'agent-trajectories', 'credit-assignment', 'loss-masks', 'tool-calling'],
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

/** Label quality (issue 13) from label's stats.quality: verdicts, agreement, anomalies, calibration; '' when absent. */
export function labelQualitySection(input: CardInput): string {
  type Q = { [k: string]: Record<string, unknown> | null };
  const q = input.lineage.find((m) => m.stage === 'label')?.stats['quality'] as Q | undefined;
  if (!q) return '';
  const n = (v: unknown) => (v === null || v === undefined ? '–' : String(v));
  const lines: string[] = ['## Label quality\n'];
  const v = q['verdicts'];
  if (v && Number(v['runs'])) lines.push(`Per-step verdicts (step-rejection): ${n(v['runs'])} run(s), ${n(v['incorrect_steps'])} of ${n(v['steps'])} steps judged incorrect.\n`);
  const s = q['samples'];
  if (s && Number(s['runs'])) {
    lines.push(
      `Agreement between the K samples of a run (${n(s['runs'])} runs): mean per-step spread ${n(s['mean_spread'])}, mean peak disagreement ${n(s['mean_peak_disagreement'])} steps, ` +
        `mean rank correlation ${n(s['mean_rank_correlation'])}; ${n(s['runs_disagreeing'])} run(s) flagged samples-disagree.\n`,
    );
  }
  const t = q['second_teacher'];
  if (t) {
    lines.push(
      `Agreement with a second teacher (${n(t['model'])}, ${n(t['answered'])} of ${n(t['runs'])} runs answered): mean peak distance ${n(t['mean_peak_distance'])} steps, ` +
        `mean Spearman rank correlation ${n(t['mean_rank_correlation'])}; the rising-segment trained span would change in ${n(t['runs_span_changed'])} run(s) (share ${n(t['share_span_changed'])}).\n`,
    );
  }
  const a = (q['anomalies'] ?? {}) as Record<string, number>;
  lines.push(
    `Anomalies flagged by label (\`values.flags\`; segment does not train a failed run whose curve never falls, never moves or echoes a planted instruction unless \`segment.suspicious_curves: keep\`):\n\n` +
      table(['flag', 'runs'], Object.entries(a).map(([k, c]) => [k, c])),
  );
  const c = q['calibration'] as { by_outcome?: Record<string, Record<string, unknown>>; reliability?: Record<string, unknown>[] | null } | null;
  if (c?.by_outcome && c.reliability) {
    lines.push(
      `\nCalibration: a share of resolved runs was labelled too (told only that they resolved; still trained whole). Final values against the outcome:\n\n` +
        table(['outcome', 'runs', 'mean final value', 'share above 0.5'], Object.entries(c.by_outcome).map(([o, x]) => [o, n(x['runs']), n(x['mean_final_value']), n(x['share_final_above_half'])])) +
        `\n` +
        table(['final value', 'runs', 'mean final value', 'resolved share'], c.reliability.map((b) => [n(b['bin']), n(b['runs']), n(b['mean_final_value']), n(b['resolved_share'])])),
    );
  }
  return lines.join('\n');
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

/** What ingest's redaction replaced (counts per secret type, never the values). */
function redactionSection(input: CardInput): string {
  const ingest = input.lineage.find((m) => m.stage === 'ingest');
  if (!ingest) return '';
  const counts = (ingest.stats.redactions ?? {}) as Record<string, number>;
  const enabled = (ingest.config as { redact?: { enabled?: boolean; mode?: string } } | null)?.redact;
  if (enabled && enabled.enabled === false) return `## Secrets

Redaction was turned off (\`ingest.redact.enabled: false\`): the text is as the harnesses recorded it.\n`;
  const rows = sortedEntries(counts).map(([type, n]) => [`\`[REDACTED:${type}]\``, n]);
  const runs = Number(ingest.stats.runs_redacted ?? 0);
  return (
    `## Secrets\n\n` +
    `Every text of every run was scanned for credentials at ingest (secretlint's recommended rules plus entropy-checked ` +
    `assignments and URL credentials; docs/redaction.md), before anything was written or sent to a teacher. ` +
    (rows.length ? `${runs} run(s) held secrets; each was replaced by a typed placeholder:\n\n` + table(['placeholder', 'replaced'], rows) : `None was found.\n`)
  );
}

function configSection(input: CardInput): string {
  const slices: Record<string, unknown> = {};
  // Manifests written by older versions may still hold an endpoint with credentials: never publish one.
  for (const m of input.lineage) slices[m.stage] = scrubUrlsDeep(m.config);
  slices['export'] = scrubUrlsDeep(input.exportConfig);
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
    field_tools: tools                 # a JSON string: axolotl parses it
    field_thinking: reasoning_content  # kept apart from content, rendered by the template
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

**TRL** (checked against TRL's SFTTrainer and transformers 5 documentation, not run here): \`assistant_only_loss=True\` trains
every assistant turn, which would train the failed runs' turns after their peak. Tokenize with the \`loss\` flags instead: a
dataset that already has \`input_ids\` is not tokenized again, and TRL's collator sets the labels to -100 wherever
\`assistant_masks\` is 0. The \`tools\` column is a JSON string (or null) and goes to the chat template as \`tools=\`;
chat templates expect tool-call \`arguments\` as a mapping, while the rows keep the JSON string the model wrote.

\`\`\`python
import json
from datasets import load_dataset
from transformers import AutoTokenizer
from trl import SFTConfig, SFTTrainer

MODEL = "Qwen/Qwen2.5-7B-Instruct"
tok = AutoTokenizer.from_pretrained(MODEL)
KEYS = ("role", "content", "reasoning_content", "tool_calls", "tool_call_id", "name")

def chat_message(m):
    out = {k: m[k] for k in KEYS if m.get(k) is not None}
    for call in out.get("tool_calls") or []:
        try:
            call["function"]["arguments"] = json.loads(call["function"]["arguments"])
        except (TypeError, ValueError):
            pass  # not JSON: left as the model wrote it
    return out

def tokenize(row):
    tools = json.loads(row["tools"]) if row["tools"] else None
    msgs = [chat_message(m) for m in row["messages"]]
    ids, mask = [], []
    for i, m in enumerate(row["messages"]):
        # transformers 5 returns a BatchEncoding here; return_dict=True gives the same on 4.x.
        upto = tok.apply_chat_template(msgs[: i + 1], tools=tools, tokenize=True, return_dict=True)["input_ids"]
        if upto[: len(ids)] != ids:
            raise ValueError("the chat template does not render this conversation's prefixes stably (e.g. it drops past reasoning)")
        new = upto[len(ids):]
        ids += new
        mask += [1 if m["loss"] else 0] * len(new)
    return {"input_ids": ids, "assistant_masks": mask}

ds = load_dataset("parquet", data_files={"train": "data/train-*.parquet"}, split="train")
ds = ds.map(tokenize, remove_columns=ds.column_names)
trainer = SFTTrainer(model=MODEL, processing_class=tok, train_dataset=ds,
                     args=SFTConfig(output_dir="out", max_length=32768))
trainer.train()
\`\`\`

The datasets and DuckDB snippets are checked against trajpipe's own exports; the trainer configs follow each
trainer's documented options and were not run by trajpipe (it trains nothing). Tool calls are kept in OpenAI form
(\`tool_calls[].function.arguments\` is the JSON string the model wrote); check that your chat template renders them.

When the pipeline sets \`formats.enabled\`, the same rows in veRL, slime, NeMo-RL, LLaMA-Factory and TRL form, with the rows each
trainer can train exactly and the config lines for axolotl and ms-swift, are in \`../formats/\` (one folder per trainer, each with a README).
`;
}

/**
 * Rows labelled by the offline heuristic carry baseline labels, not a teacher's: the card says so where
 * the labeler is counted, with how far apart the two were measured and how to configure a teacher.
 */
export function baselineLabelsNote(byLabeler: Record<string, number>): string {
  const heuristic = Object.entries(byLabeler)
    .filter(([k]) => k.startsWith('heuristic '))
    .reduce((a, [, v]) => a + v, 0);
  if (heuristic === 0) return '';
  return (
    `\n**Baseline labels, not teacher labels.** ${heuristic} row(s) were labelled by trajpipe's offline heuristic ` +
    `(\`labeler: heuristic\`): rules over commands and test output, not a model judging the run. Measured against ` +
    `hindsight labels on real failed runs it puts the peak elsewhere and trains about twice as many turns, including ` +
    `plainly wrong ones (docs/label.md, "Heuristic vs teacher"). Use these rows to try the pipeline, not to train a model. ` +
    `For teacher labels set \`label.teacher.base_url\` and \`label.teacher.model\` (any OpenAI-compatible endpoint: ` +
    `vLLM, SGLang, hosted), or run with \`--teacher-base-url URL --teacher-model NAME\`.\n`
  );
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
    licenseNote(input),
    `Credit-assignment SFT data made by trajpipe ${input.packageVersion} (record schema ${input.schemaVersion}). ` +
      (!input.policy || input.policy.self.policy === 'rising-segment'
        ? `Resolved runs are trained on every agent turn. A failed run is trained only on its agent turns up to the peak of its ` +
          `hindsight value curve (the last moment it could still have succeeded), never on its submitting turn; see docs/segmentation.md.\n`
        : `Its turns were chosen by the credit-assignment policy \`${input.policy.self.policy}\` (below); a failed run's submitting turn is never trained; see docs/segmentation.md.\n`),
    `## Columns\n\n` +
      `- \`messages[].loss\`: \`true\` on a trained assistant turn, \`false\` on an assistant turn that must be masked, \`null\` on system, user and tool messages (never trained).\n` +
      `- \`messages[].step_value\`: the labeler's hindsight success probability after this assistant turn (null when unlabelled).\n` +
      `- \`train_start\` / \`train_end\`: first and last trained message index; \`step_values\`: the run's whole value curve, one value per agent turn.\n` +
      `- \`curve_shape\`, \`labeler\`, \`prompt_version\`, \`outcome\` (\`resolved\` / \`failed\` / \`unknown\`), \`source\` (harness/format), \`teacher_model\` (the model that produced the run), \`metadata\` (JSON: task, source file and record, peak and critical step).\n` +
      `- By default a failed run's messages end with its last trained turn: with causal attention, later turns cannot change the loss on earlier ones.\n`,
    `## Contents\n\n${t.rows} rows in ${input.shards.length} shard(s).\n\n` +
      table(['outcome', 'rows', 'assistant turns exported', 'trained turns', 'trained / exported'], outcomeRows) +
      (t.byOutcome['failed']
        ? `\nA failed run's messages end with its last trained turn (the rest is cut), so nearly every assistant turn *exported* for it is trained; ` +
          `how many of the turns the run actually *took* are trained is below.\n`
        : ''),
    input.policy ? policySection(input.policy) : '',
    `## Agent turns recovered from failed runs\n\n` +
      `${f.rows} failed run(s) are exported. They took ${f.agentTurns} agent turns; ${f.trainedTurns} of them (${pct(f.trainedTurns, f.agentTurns)} of the turns taken) are trained, ` +
      `signal that outcome-filtered SFT would have thrown away. ${f.messagesCut} message(s) after the trained spans were cut.\n`,
    shapesSection(input),
    `## By harness\n\n` + countTable('harness', t.byHarness, t.rows),
    `## By trajectory model\n\n` + countTable('model that produced the run', t.byModel, t.rows),
    `## By labeler\n\n` + countTable('labeler (model, prompt version)', t.byLabeler, t.rows) + baselineLabelsNote(t.byLabeler),
    labelQualitySection(input),
    rejectsSection(input),
    redactionSection(input),
    configSection(input),
    loadingSection(),
  ];
  return parts.filter((p) => p !== '').join('\n');
}

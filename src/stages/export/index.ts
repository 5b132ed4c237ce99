import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SftRow, SCHEMA_VERSION, type OutputFile, type PipelineConfig, type PipelineRecord, type SegmentPolicy, type StageManifest } from '../../../schemas/index.js';
import type { Stage } from '../../runner/stage.js';
import { SFT_PARQUET_SCHEMA } from '../../io/parquet/sft-schema.js';
import { PACKAGE_VERSION } from '../../runner/version.js';
import { afterSubmit } from '../../core/training-text.js';
import { toSftRow, approxRowBytes, exportedMessageCount } from './rows.js';
import { renderCard, type ExportTally } from './card.js';
import { hfFeatures } from './features.js';
import { readLineage } from './lineage.js';
import { datasetStat, encodingIn, openDatasets, policyOutcome, type Dataset } from './datasets.js';
import { sharedPool } from '../../workers/pool.js';
import type { PolicyCardInput, PolicyCounts } from './card-policy.js';

/**
 * The card shows the pipeline's name and description, so they are part of export's fingerprint; so are the
 * policies when they are not the default (they decide which dataset folders are written).
 */
export const exportSlice = (config: PipelineConfig) => {
  const p = config.segment.policies;
  const policies = p.length === 1 && p[0] === 'rising-segment' ? {} : { policies: p };
  return { ...config.export, ...policies, dataset: { name: config.name, description: config.description ?? null } };
};

/** Why a record cannot become a row, or null. A failed or unknown run without a segment would train nothing, or worse. */
function unexportable(record: PipelineRecord): { reason: string; message: string } | null {
  const who = `Run ${record.id} (task ${record.task_id}, ${record.source.file} record ${record.source.record})`;
  if (!record.segment && record.outcome.resolved !== true) {
    return { reason: 'unsegmented-run', message: `${who} did not resolve its task and has no segment, so export cannot tell which turns to train.` };
  }
  return null;
}

/** The card of one dataset (also rendered by `trajpipe gather` from the shards' summed counts). */
export function exportCard(
  config: PipelineConfig,
  shards: readonly OutputFile[],
  tally: ExportTally,
  lineage: readonly StageManifest[],
  dropped: Record<string, number>,
  policy: PolicyCardInput,
): string {
  return renderCard({
    name: config.name,
    description: config.description ?? null,
    packageVersion: PACKAGE_VERSION,
    schemaVersion: SCHEMA_VERSION,
    features: hfFeatures(SFT_PARQUET_SCHEMA),
    shards,
    tally,
    lineage,
    exportConfig: exportSlice(config),
    exportDropped: dropped,
    license: config.export.card.license,
    language: config.export.card.language,
    policy,
  });
}

/** Per-policy counts keyed by policy, so gather can sum them over the shards (arrays are not summed). */
export function policyCountsByName(counts: readonly PolicyCounts[]): Record<string, PolicyCounts> {
  return Object.fromEntries(counts.map((c) => [c.policy, c]));
}

/** What the card's tally needs of a run besides its row (made where the run is parsed, with the row). */
interface RowFacts {
  harness: string;
  model: string;
  labeler: string;
  agentTurns: number;
  messagesCut: number;
}

function tallyRow(t: ExportTally, facts: RowFacts, row: SftRow): void {
  const assistant = row.messages.filter((m) => m.role === 'assistant');
  const trained = assistant.filter((m) => m.loss === true).length;
  const o = (t.byOutcome[row.outcome] ??= { rows: 0, assistantTurns: 0, trainedTurns: 0 });
  o.rows++;
  o.assistantTurns += assistant.length;
  o.trainedTurns += trained;
  t.rows++;
  const inc = (r: Record<string, number>, k: string) => (r[k] = (r[k] ?? 0) + 1);
  inc(t.byHarness, facts.harness);
  inc(t.byModel, facts.model);
  inc(t.byLabeler, facts.labeler);
  if (row.curve_shape) inc(t.shapes, row.curve_shape);
  if (row.outcome !== 'resolved') {
    t.failed.rows++;
    t.failed.agentTurns += facts.agentTurns;
    t.failed.trainedTurns += trained;
    t.failed.messagesCut += facts.messagesCut;
  }
}

/** What one dataset (policy) makes of a run: a row with its facts, or why it is left out. */
export type DatasetRow = { drop: { reason: string; message: string } } | { row: SftRow; facts: RowFacts; after: { messages: number; chars: number } };

/**
 * The record function 'export.rows': one run's row in each policy's dataset (validated), or why not. Run
 * where the record is parsed, in the worker pool; the rows come back to be written in input order.
 */
export function exportRows(record: PipelineRecord, input: { policies: readonly SegmentPolicy[] }): DatasetRow[] {
  return input.policies.map((policy, k): DatasetRow => {
    const outcome = policyOutcome(record, policy, k);
    if (outcome.drop) return { drop: outcome.drop };
    const rec: PipelineRecord = record.policies ? { ...record, segment: outcome.segment } : record;
    const problem = unexportable(rec);
    if (problem) return { drop: problem };
    const row = SftRow.safeParse(toSftRow(rec));
    if (!row.success) {
      const i = row.error.issues[0];
      return { drop: { reason: 'invalid-sft-row', message: `Record ${record.id} cannot be exported: ${i?.path.join('.')}: ${i?.message}.` } };
    }
    if (!row.data.messages.some((m) => m.loss === true)) {
      return { drop: { reason: 'no-trained-turn', message: `Run ${record.id} (task ${record.task_id}) has no trained assistant turn left to export.` } };
    }
    const v = rec.values;
    const facts: RowFacts = {
      harness: rec.source.harness,
      model: rec.source.teacher_model ?? 'unknown',
      labeler: v ? `${v.labeler} (${v.model ?? 'no model'}, ${v.prompt_version ?? 'no prompt version'})` : 'none (not labelled)',
      agentTurns: rec.steps.length,
      messagesCut: rec.messages.length - exportedMessageCount(rec),
    };
    return { row: row.data, facts, after: afterSubmit(rec) };
  });
}

export const exportStage: Stage = {
  name: 'export',
  summary: 'Writes zstd Parquet SFT shards with per-message loss masks (and weights), a manifest and a dataset card; one dataset per credit-assignment policy.',
  // 5: the card's axolotl snippet passes tools and reasoning (as formats/axolotl does).
  // 6: one dataset per segment policy (export/variants/<policy>/), messages[].weight, the card's policy section;
  //    rows go to files by task-hash bucket (export.shard.buckets), in input order within a bucket.
  // 7: row groups also end at export.row_group_bytes (4 MiB; was a fixed 64 MiB).
  version: '7',
  streamsUpstream: true,
  reportsUpstreamRejects: true,
  configSlice: exportSlice,
  async run(ctx) {
    const cfg = ctx.config.export;
    // Encoding and zstd of each row group run in the worker pool: by the time export runs (after dedup's barrier)
    // the workers have nothing else to do, and this is most of export's CPU.
    const pool = sharedPool(ctx.config.runner.workers);
    ctx.setStat('worker_threads', pool.threads);
    const datasets = await openDatasets(ctx.dir, ctx.config.segment.policies, cfg, pool.threads > 0 ? encodingIn(pool) : undefined);
    const primary = datasets[0]!;
    /** A run left out of dataset k: a reject of the stage for the first dataset (records in = rows + rejects), a count for the others. */
    const leaveOut = async (d: Dataset, record: Pick<PipelineRecord, 'id' | 'task_id' | 'source'>, reason: string, message: string) => {
      d.dropped[reason] = (d.dropped[reason] ?? 0) + 1;
      if (d !== primary) return;
      await ctx.reject({ reason, message, id: record.id, task_id: record.task_id, file: record.source.file, record: record.source.record });
    };
    // Rows are made (and validated) where each run is parsed, in the worker pool; this thread writes them in order.
    const made = ctx.mapRecords({ fields: ['id', 'task_id', 'source'], task: 'export.rows', input: () => ({ policies: ctx.config.segment.policies }) });
    for await (const { record, result } of made) {
      for (const [k, d] of datasets.entries()) {
        const r = result[k]!;
        if ('drop' in r) {
          await leaveOut(d, record, r.drop.reason, r.drop.message);
          continue;
        }
        if (d === primary) ctx.count('rows_by_outcome', r.row.outcome);
        tallyRow(d.tally, r.facts, r.row);
        d.weightedTurns += r.row.messages.filter((m) => m.loss === true && typeof m.weight === 'number').length;
        if (r.after.messages) {
          d.afterSubmit.rows++;
          d.afterSubmit.messages += r.after.messages;
          d.afterSubmit.chars += r.after.chars;
        }
        await d.shards.write(record.task_id, r.row, approxRowBytes(r.row));
      }
    }
    const shardsOf = new Map<Dataset, OutputFile[]>();
    // A shard keeps its files under their bucket names; `trajpipe gather` numbers them over the whole run.
    for (const d of datasets) shardsOf.set(d, ctx.config.shard ? await d.shards.closeBuckets() : await d.shards.close(join(d.dir, 'data')));
    // Only the first dataset's shards are the stage's outputs (what tokenize, formats and validate's hashes read);
    // the variants' shards and hashes are in stats.datasets, and `trajpipe validate` checks them from there.
    for (const out of shardsOf.get(primary)!) ctx.addOutput({ ...out, path: `data/${out.path}` });
    const tally = primary.tally;
    ctx.setStat('trained_turns_by_outcome', Object.fromEntries(Object.entries(tally.byOutcome).map(([k, v]) => [k, v.trainedTurns])));
    ctx.setStat('failed_runs_recovered_turns', tally.failed.trainedTurns);
    // Text after the final submit: kept in the canonical records, not in the shards.
    ctx.setStat('after_submit_not_exported', primary.afterSubmit);
    const stats = datasets.map((d) => datasetStat(d, shardsOf.get(d)!));
    ctx.setStat('datasets', stats);

    const counts: PolicyCounts[] = stats.map((s) => ({ policy: s.policy, folder: s.folder, rows: s.rows, trained_turns: s.trained_turns, weighted_turns: s.weighted_turns, dropped: s.dropped }));
    // What the first dataset's card is rendered from: a sharded run's gather sums these over the shards.
    ctx.setStat('card_tally', tally);
    ctx.setStat('card_dropped', primary.dropped);
    ctx.setStat('card_policies', policyCountsByName(counts));
    if (ctx.config.shard) return;

    const lineage = await readLineage(ctx.dir, ctx.upstream);
    for (const [k, d] of datasets.entries()) {
      // A card is not a registered output (validate reads every output as a shard); it is swapped into place with the folder.
      const card = exportCard(ctx.config, shardsOf.get(d)!, d.tally, lineage, d.dropped, { self: counts[k]!, all: counts });
      await writeFile(join(d.dir, 'README.md'), card);
    }
  },
};

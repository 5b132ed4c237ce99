import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SftRow, SCHEMA_VERSION, type PipelineConfig, type PipelineRecord } from '../../../schemas/index.js';
import type { Stage } from '../../runner/stage.js';
import { ShardWriter } from '../../io/parquet/shard-writer.js';
import { SFT_COLUMNS, SFT_PARQUET_SCHEMA } from '../../io/parquet/sft-schema.js';
import { PACKAGE_VERSION } from '../../runner/version.js';
import { afterSubmit } from '../../core/training-text.js';
import { toSftRow, approxRowBytes, exportedMessageCount } from './rows.js';
import { emptyTally, renderCard, type ExportTally } from './card.js';
import { hfFeatures } from './features.js';
import { readLineage } from './lineage.js';
import { sharedPool } from '../../workers/pool.js';

/** The card shows the pipeline's name and description, so they are part of export's fingerprint. */
const exportSlice = (config: PipelineConfig) => ({ ...config.export, dataset: { name: config.name, description: config.description ?? null } });

/** Why a record cannot become a row, or null. A failed or unknown run without a segment would train nothing, or worse. */
function unexportable(record: PipelineRecord): { reason: string; message: string } | null {
  const who = `Run ${record.id} (task ${record.task_id}, ${record.source.file} record ${record.source.record})`;
  if (!record.segment && record.outcome.resolved !== true) {
    return { reason: 'unsegmented-run', message: `${who} did not resolve its task and has no segment, so export cannot tell which turns to train.` };
  }
  return null;
}

function tallyRow(t: ExportTally, record: PipelineRecord, row: SftRow): void {
  const assistant = row.messages.filter((m) => m.role === 'assistant');
  const trained = assistant.filter((m) => m.loss === true).length;
  const o = (t.byOutcome[row.outcome] ??= { rows: 0, assistantTurns: 0, trainedTurns: 0 });
  o.rows++;
  o.assistantTurns += assistant.length;
  o.trainedTurns += trained;
  t.rows++;
  const inc = (r: Record<string, number>, k: string) => (r[k] = (r[k] ?? 0) + 1);
  inc(t.byHarness, record.source.harness);
  inc(t.byModel, record.source.teacher_model ?? 'unknown');
  const v = record.values;
  inc(t.byLabeler, v ? `${v.labeler} (${v.model ?? 'no model'}, ${v.prompt_version ?? 'no prompt version'})` : 'none (not labelled)');
  if (row.curve_shape) inc(t.shapes, row.curve_shape);
  if (row.outcome !== 'resolved') {
    t.failed.rows++;
    t.failed.agentTurns += record.steps.length;
    t.failed.trainedTurns += trained;
    t.failed.messagesCut += record.messages.length - exportedMessageCount(record);
  }

}

export const exportStage: Stage = {
  name: 'export',
  summary: 'Writes zstd Parquet SFT shards with per-message loss masks, a manifest and a dataset card.',
  // 5: the card's axolotl snippet passes tools and reasoning (as formats/axolotl does).
  version: '5',
  streamsUpstream: true,
  reportsUpstreamRejects: true,
  configSlice: exportSlice,
  async run(ctx) {
    const cfg = ctx.config.export;
    const dataDir = join(ctx.dir, 'data');
    await mkdir(dataDir, { recursive: true });
    const shards = new ShardWriter({
      dir: dataDir,
      prefix: 'train',
      schema: SFT_PARQUET_SCHEMA,
      columns: SFT_COLUMNS,
      maxRows: cfg.shard.max_rows,
      targetBytes: cfg.shard.target_bytes,
      rowGroupRows: cfg.row_group_rows,
      rowGroupBytes: 64 * 1024 * 1024,
      zstdLevel: cfg.zstd_level,
      kvMetadata: [
        { key: 'trajpipe.schema_version', value: SCHEMA_VERSION },
        { key: 'trajpipe.pipeline_version', value: PACKAGE_VERSION },
      ],
      createdBy: `trajpipe ${PACKAGE_VERSION} (hyparquet-writer)`,
      pool: sharedPool(ctx.config.runner.workers),
    });
    ctx.setStat('worker_threads', sharedPool(ctx.config.runner.workers).threads);
    const tally = emptyTally();
    const afterSubmitTally = { rows: 0, messages: 0, chars: 0 };
    const dropped: Record<string, number> = {};
    const reject = async (record: PipelineRecord, reason: string, message: string) => {
      dropped[reason] = (dropped[reason] ?? 0) + 1;
      await ctx.reject({ reason, message, id: record.id, task_id: record.task_id, file: record.source.file, record: record.source.record });
    };
    for await (const record of ctx.records()) {
      const problem = unexportable(record);
      if (problem) {
        await reject(record, problem.reason, problem.message);
        continue;
      }
      const row = SftRow.safeParse(toSftRow(record));
      if (!row.success) {
        const i = row.error.issues[0];
        await reject(record, 'invalid-sft-row', `Record ${record.id} cannot be exported: ${i?.path.join('.')}: ${i?.message}.`);
        continue;
      }
      if (!row.data.messages.some((m) => m.loss === true)) {
        await reject(record, 'no-trained-turn', `Run ${record.id} (task ${record.task_id}) has no trained assistant turn left to export.`);
        continue;
      }
      ctx.count('rows_by_outcome', row.data.outcome);
      tallyRow(tally, record, row.data);
      const after = afterSubmit(record);
      if (after.messages) {
        afterSubmitTally.rows++;
        afterSubmitTally.messages += after.messages;
        afterSubmitTally.chars += after.chars;
      }
      await shards.write(row.data, approxRowBytes(row.data));
    }
    const outputs = await shards.close();
    for (const out of outputs) ctx.addOutput({ ...out, path: `data/${out.path}` });
    ctx.setStat('trained_turns_by_outcome', Object.fromEntries(Object.entries(tally.byOutcome).map(([k, v]) => [k, v.trainedTurns])));
    ctx.setStat('failed_runs_recovered_turns', tally.failed.trainedTurns);
    // Text after the final submit: kept in the canonical records, not in the shards.
    ctx.setStat('after_submit_not_exported', afterSubmitTally);

    // The card is not a registered output (validate reads every output as a shard); it is swapped into place with the folder.
    const card = renderCard({
      name: ctx.config.name,
      description: ctx.config.description ?? null,
      packageVersion: PACKAGE_VERSION,
      schemaVersion: SCHEMA_VERSION,
      features: hfFeatures(SFT_PARQUET_SCHEMA),
      shards: outputs,
      tally,
      lineage: await readLineage(ctx.dir, ctx.upstream),
      exportConfig: exportSlice(ctx.config),
      exportDropped: dropped,
      license: cfg.card.license,
      language: cfg.card.language,
    });
    await writeFile(join(ctx.dir, 'README.md'), card);
  },
};

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SCHEMA_VERSION, type OutputFile, type PipelineRecord, type Segment, type SegmentPolicy } from '../../../schemas/index.js';
import type { ExportConfig } from '../../../schemas/index.js';
import { EncodeSlots, ShardWriter } from '../../io/parquet/shard-writer.js';
import type { TaskPool } from '../../workers/pool.js';
import { BucketedShards } from './buckets.js';
import { SFT_COLUMNS, SFT_PARQUET_SCHEMA } from '../../io/parquet/sft-schema.js';
import { PACKAGE_VERSION } from '../../runner/version.js';
import { emptyTally, type ExportTally } from './card.js';

// Which datasets export writes: one per credit-assignment policy (segment.policies), all from the same
// records. The first policy's dataset is export/ itself (what tokenize, formats, the report and
// `validate` read); every other one is a complete dataset folder export/variants/<policy>/ (shards and card).

export interface Dataset {
  policy: SegmentPolicy;
  /** Relative to the export folder: '' for the first policy, 'variants/<policy>' for the others. */
  folder: string;
  dir: string;
  shards: BucketedShards;
  tally: ExportTally;
  afterSubmit: { rows: number; messages: number; chars: number };
  /** Runs this dataset leaves out, per reason (for the first dataset these are also export's rejects). */
  dropped: Record<string, number>;
  weightedTurns: number;
}

/** The zstd Parquet shard writers of one dataset folder, one per task-hash bucket (rows are cut into files here, and only here). */
/** Row groups are encoded and compressed in the worker pool (when it has threads), a few in flight over every writer. */
export interface Encoding {
  pool: TaskPool;
  slots: EncodeSlots;
}

export function encodingIn(pool: TaskPool): Encoding {
  return { pool, slots: new EncodeSlots(pool.threads + 1) };
}

export function openShards(dataDir: string, cfg: ExportConfig, encoding?: Encoding): BucketedShards {
  return new BucketedShards(cfg.shard.buckets, (prefix) => writerFor(dataDir, prefix, cfg, encoding));
}

function writerFor(dataDir: string, prefix: string, cfg: ExportConfig, encoding?: Encoding): ShardWriter {
  return new ShardWriter({
    dir: dataDir,
    prefix,
    schema: SFT_PARQUET_SCHEMA,
    columns: SFT_COLUMNS,
    maxRows: cfg.shard.max_rows,
    targetBytes: cfg.shard.target_bytes,
    rowGroupRows: cfg.row_group_rows,
    rowGroupBytes: cfg.row_group_bytes,
    zstdLevel: cfg.zstd_level,
    kvMetadata: [
      { key: 'trajpipe.schema_version', value: SCHEMA_VERSION },
      { key: 'trajpipe.pipeline_version', value: PACKAGE_VERSION },
    ],
    createdBy: `trajpipe ${PACKAGE_VERSION} (hyparquet-writer)`,
    ...(encoding ? { pool: encoding.pool, slots: encoding.slots } : {}),
  });
}

export async function openDatasets(exportDir: string, policies: readonly SegmentPolicy[], cfg: ExportConfig, encoding?: Encoding): Promise<Dataset[]> {
  const out: Dataset[] = [];
  for (const [k, policy] of policies.entries()) {
    const folder = k === 0 ? '' : `variants/${policy}`;
    const dir = folder ? join(exportDir, folder) : exportDir;
    await mkdir(join(dir, 'data'), { recursive: true });
    out.push({ policy, folder, dir, shards: openShards(join(dir, 'data'), cfg, encoding), tally: emptyTally(), afterSubmit: { rows: 0, messages: 0, chars: 0 }, dropped: {}, weightedTurns: 0 });
  }
  return out;
}

/** What policy k made of the record: its segment, or why it trains nothing (records segmented with one policy carry only `segment`). */
export function policyOutcome(
  record: PipelineRecord,
  policy: SegmentPolicy,
  k: number,
): { segment: Segment | null | undefined; drop: { reason: string; message: string } | null } {
  const listed = record.policies?.find((p) => p.policy === policy);
  if (listed) return { segment: listed.segment, drop: listed.drop };
  if (k === 0) return { segment: record.segment, drop: null };
  return {
    segment: null,
    drop: {
      reason: 'no-policy-outcome',
      message: `Run ${record.id} (task ${record.task_id}) carries no outcome of policy ${policy}; the segment stage that wrote it was configured with other policies.`,
    },
  };
}

/** What the manifest records of each dataset (the first one's shards are the stage's registered outputs). */
export function datasetStat(d: Dataset, shards: readonly OutputFile[]) {
  return {
    policy: d.policy,
    folder: d.folder || '.',
    rows: d.tally.rows,
    rows_by_outcome: Object.fromEntries(Object.entries(d.tally.byOutcome).map(([k, v]) => [k, v.rows])),
    trained_turns: Object.values(d.tally.byOutcome).reduce((a, v) => a + v.trainedTurns, 0),
    weighted_turns: d.weightedTurns,
    failed_runs_recovered_turns: d.tally.failed.trainedTurns,
    dropped: Object.fromEntries(Object.entries(d.dropped).sort(([a], [b]) => (a < b ? -1 : 1))),
    shards: d.folder ? shards.map((s) => ({ ...s, path: `${d.folder}/data/${s.path}` })) : shards.map((s) => ({ ...s, path: `data/${s.path}` })),
  };
}

export type DatasetStat = ReturnType<typeof datasetStat>;

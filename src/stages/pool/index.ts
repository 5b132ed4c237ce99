import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stage, StageContext } from '../../runner/stage.js';
import { readLines } from '../../io/jsonl.js';
import { stageRecords } from '../../runner/records.js';
import { ShardWriter } from '../../io/parquet/shard-writer.js';
import { PACKAGE_VERSION } from '../../runner/version.js';
import { BANDS, TaskTable, type TaskRow } from './tasks.js';
import { TASK_COLUMNS, TASK_PARQUET_SCHEMA } from './schema.js';
import { renderPoolCard } from './card.js';

/** Filter reasons that mark a task as a held-out benchmark task (src/stages/filter/decontaminate.ts). */
export const DECONTAMINATION_REASONS = ['decontaminated-id', 'decontaminated-repo', 'decontaminated-statement'] as const;

/** Task ids the filter stage rejected for decontamination: every attempt of such a task stays out. */
async function decontaminatedTasks(ctx: StageContext): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const file = join(ctx.readStage('filter').dir, 'rejects.jsonl');
  if (!existsSync(file)) return out;
  for await (const line of readLines(file)) {
    let r: { reason?: unknown; task_id?: unknown };
    try {
      r = JSON.parse(line.text) as typeof r;
    } catch {
      throw new Error(`Line ${line.index + 1} of ${file} is not valid JSON: the filter stage's rejects were edited by hand.`);
    }
    if (typeof r.task_id === 'string' && (DECONTAMINATION_REASONS as readonly unknown[]).includes(r.reason) && !out.has(r.task_id)) {
      out.set(r.task_id, r.reason as string);
    }
  }
  return out;
}

async function writeTable(dir: string, prefix: string, rows: readonly TaskRow[]) {
  const w = new ShardWriter({
    dir,
    prefix,
    schema: TASK_PARQUET_SCHEMA,
    columns: TASK_COLUMNS,
    maxRows: Number.MAX_SAFE_INTEGER,
    targetBytes: Number.MAX_SAFE_INTEGER,
    rowGroupRows: 1024,
    rowGroupBytes: 64 * 1024 * 1024,
    zstdLevel: 3,
    kvMetadata: [{ key: 'trajpipe.pipeline_version', value: PACKAGE_VERSION }],
    createdBy: `trajpipe ${PACKAGE_VERSION} (hyparquet-writer)`,
  });
  for (const r of rows) await w.write(r as unknown as Record<string, unknown>, r.statement.length + 256);
  return w.close();
}

export const poolStage: Stage = {
  name: 'pool',
  summary: 'Per-task pass rates over every ingested attempt, and the RL task pool of tasks in a pass-rate band.',
  version: '1',
  readsStages: ['ingest', 'filter'],
  configSlice: (config) => config.pool,
  async run(ctx) {
    const cfg = ctx.config.pool;
    if (!cfg.enabled) return;
    const decontaminated = await decontaminatedTasks(ctx);
    const ingest = ctx.readStage('ingest');
    const table = new TaskTable();
    // Every field the table needs but messages, tools and steps (most of each line, never decoded here).
    for await (const l of stageRecords(ingest, { fields: ['id', 'task_id', 'task', 'source', 'outcome', 'meta'] })) {
      ctx.countIn();
      if (!l.ok) {
        await ctx.reject({ reason: 'bad-intermediate-record', message: `Line ${l.line} of ${l.file} is not valid JSON (${l.message}).`, file: l.file, record: l.line - 1 });
        continue;
      }
      const r = l.record;
      const why = decontaminated.get(r.task_id);
      if (why) {
        await ctx.reject({
          reason: 'decontaminated-task',
          message: `Attempt ${r.id} (${r.source.file} record ${r.source.record}) is left out of the task pool: the filter stage rejected task ${r.task_id} as ${why}.`,
          id: r.id,
          task_id: r.task_id,
          file: r.source.file,
          record: r.source.record,
        });
        continue;
      }
      table.add(r);
    }
    const rows = table.rows(cfg);
    const pool = rows.filter((r) => r.in_pool);
    const attempts = rows.reduce((a, r) => a + r.attempts, 0);
    const [tasksFile] = await writeTable(ctx.dir, 'tasks', rows);
    const [poolFile] = await writeTable(ctx.dir, 'pool', pool);
    // tasks.parquet summarises every attempt kept; pool.parquet is a subset of it, so it counts none.
    if (tasksFile) ctx.addOutput(tasksFile, attempts);
    if (poolFile) ctx.addOutput(poolFile, 0);

    const bands = Object.fromEntries(BANDS.map((b) => [b, rows.filter((r) => r.band === b).length]));
    ctx.setStat('tasks', rows.length);
    ctx.setStat('tasks_by_band', bands);
    ctx.setStat('pool_tasks', pool.length);
    ctx.setStat('decontaminated_tasks', decontaminated.size);
    await writeFile(join(ctx.dir, 'README.md'), renderPoolCard({ name: ctx.config.name, config: cfg, rows, pool, bands, decontaminated: decontaminated.size }));
  },
};

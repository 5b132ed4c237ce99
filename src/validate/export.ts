import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { SchemaElement } from 'hyparquet';
import { SftRow, SCHEMA_VERSION, type OutputFile } from '../../schemas/index.js';
import { readManifest } from '../runner/runner.js';
import { openShard } from '../io/parquet/read.js';
import { SFT_PARQUET_SCHEMA } from '../io/parquet/sft-schema.js';

export interface ValidationReport {
  dir: string;
  shards: number;
  rows: number;
  byOutcome: Record<string, number>;
  trainedTurns: number;
  errors: string[];
  /** False when dir holds no export at all (nothing else was checked; errors holds the one reason). */
  found: boolean;
  /** The other policies' datasets (export/variants/<policy>/) listed in the manifest, each checked like the first. */
  variants: { policy: string; folder: string; shards: number; rows: number; trainedTurns: number }[];
}

/** A check on one row, beyond its schema; returns a problem or null. Issue-specific invariants register here. */
export type RowCheck = (row: SftRow) => string | null;

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function schemaKey(s: SchemaElement[]): string {
  return JSON.stringify(
    s.map((e) => [e.name, e.type ?? null, e.repetition_type ?? null, e.converted_type ?? null, e.num_children ?? null]),
  );
}

/** Accepts a run folder (with export/ inside) or an export folder. */
export async function findExportDir(dir: string): Promise<string> {
  const inner = join(dir, 'export');
  return (await stat(join(inner, 'manifest.json')).catch(() => null)) ? inner : dir;
}

/** Checks every shard of an export against the manifest, the Parquet schema, the row schema and the row checks. */
export async function validateExport(dirArg: string, checks: RowCheck[] = [], maxErrors = 50): Promise<ValidationReport> {
  const dir = await findExportDir(dirArg);
  const report: ValidationReport = { dir, shards: 0, rows: 0, byOutcome: {}, trainedTurns: 0, errors: [], found: true, variants: [] };
  const fail = (m: string) => {
    if (report.errors.length < maxErrors) report.errors.push(m);
  };
  const where = await stat(dir).catch(() => null);
  if (!where?.isDirectory()) {
    report.found = false;
    fail(where ? `${dir} is a file, not an export folder.` : `${dir} does not exist.`);
    return report;
  }
  const manifest = await readManifest(dir);
  if (!manifest || manifest.stage !== 'export') {
    report.found = false;
    fail(`${dir} has no valid export manifest.json; is it an export folder (or a run folder holding export/)?`);
    return report;
  }
  await checkShards(dir, manifest.outputs, report, checks, fail);
  for (const v of variantsOf(manifest.stats)) {
    const part = { shards: 0, rows: 0, byOutcome: {} as Record<string, number>, trainedTurns: 0 };
    if (!(await stat(join(dir, v.folder, 'README.md')).catch(() => null))) fail(`${v.folder}: the dataset of policy ${v.policy} has no README.md (dataset card).`);
    await checkShards(dir, v.shards, part, checks, fail);
    if (part.rows !== v.rows) fail(`${v.folder}: ${part.rows} rows, but the manifest says ${v.rows} for policy ${v.policy}.`);
    report.variants.push({ policy: v.policy, folder: v.folder, shards: part.shards, rows: part.rows, trainedTurns: part.trainedTurns });
  }
  return report;
}

/** The datasets of the other policies, as export's manifest lists them (stats.datasets, folder other than '.'). */
function variantsOf(stats: Record<string, unknown>): { policy: string; folder: string; rows: number; shards: OutputFile[] }[] {
  const list = stats['datasets'];
  if (!Array.isArray(list)) return [];
  return (list as { policy: string; folder: string; rows: number; shards: OutputFile[] }[]).filter((d) => d && d.folder !== '.');
}

type Tally = Pick<ValidationReport, 'shards' | 'rows' | 'byOutcome' | 'trainedTurns'>;

/** Every listed shard: present, its hash, a readable Parquet file with the SFT schema and version, each row's schema and checks, its row count. */
async function checkShards(dir: string, outputs: readonly OutputFile[], report: Tally, checks: RowCheck[], fail: (m: string) => void): Promise<void> {
  const expectedSchema = schemaKey(SFT_PARQUET_SCHEMA);
  for (const out of outputs) {
    const path = join(dir, out.path);
    report.shards++;
    const exists = await stat(path).catch(() => null);
    if (!exists) {
      fail(`${out.path}: listed in the manifest but missing.`);
      continue;
    }
    const digest = await sha256File(path);
    if (digest !== out.sha256) fail(`${out.path}: sha256 ${digest.slice(0, 12)}… does not match the manifest's ${out.sha256.slice(0, 12)}….`);
    let shard;
    try {
      shard = await openShard(path);
    } catch (err) {
      fail(`${out.path}: not a readable Parquet file (${(err as Error).message}).`);
      continue;
    }
    if (schemaKey(shard.metadata.schema) !== expectedSchema) {
      fail(`${out.path}: Parquet schema differs from the SFT schema (columns: ${shard.metadata.schema.map((e) => e.name).join(', ')}).`);
      continue;
    }
    const kv = Object.fromEntries((shard.metadata.key_value_metadata ?? []).map((e) => [e.key, e.value]));
    if (kv['trajpipe.schema_version'] !== SCHEMA_VERSION) fail(`${out.path}: schema version ${kv['trajpipe.schema_version']} is not ${SCHEMA_VERSION}.`);
    let rowsInShard = 0;
    try {
      await checkRows();
    } catch (err) {
      fail(`${out.path}: cannot be read after row ${rowsInShard} (${(err as Error).message}).`);
      continue;
    }
    report.rows += rowsInShard;
    if (rowsInShard !== out.records) fail(`${out.path}: ${rowsInShard} rows, but the manifest says ${out.records}.`);

    async function checkRows(): Promise<void> {
    for await (const raw of shard!.rows()) {
      const where = `${out.path} row ${rowsInShard}`;
      rowsInShard++;
      const parsed = SftRow.safeParse(raw);
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        fail(`${where}: ${i?.path.join('.')}: ${i?.message}.`);
        continue;
      }
      const row = parsed.data;
      report.byOutcome[row.outcome] = (report.byOutcome[row.outcome] ?? 0) + 1;
      report.trainedTurns += row.messages.filter((m) => m.loss === true).length;
      for (const check of checks) {
        const problem = check(row);
        if (problem) fail(`${where} (id ${row.id}): ${problem}`);
      }
    }
    }
  }
}

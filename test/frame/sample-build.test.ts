import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineRecord, SftRow } from '../../schemas/index.js';
import { EXPECTED_DUCKDB_TYPES } from '../../src/io/parquet/sft-schema.js';
import { toSftRow } from '../../src/stages/export/rows.js';
import { readLines } from '../../src/io/jsonl.js';
import { readManifest } from '../../src/runner/runner.js';
import { duckQuery } from '../helpers/duckdb.js';
import { hashTree, runCli, tempDir } from '../helpers/cli.js';
import { recordsOf } from '../helpers/records.js';

/** The README's first command, into a temporary folder: the sample build end to end, offline. */
describe('sample build', () => {
  let out: string;
  let firstRun: { code: number | null; stderr: string };

  beforeAll(async () => {
    out = await tempDir();
    firstRun = await runCli(['run', 'pipelines/sample.yaml', '--out', out, '--quiet'], { OPENAI_API_KEY: '' });
  });

  it('runs every stage and writes Parquet shards and a manifest', async () => {
    expect(firstRun.stderr).toBe('');
    expect(firstRun.code).toBe(0);
    const manifest = await readManifest(join(out, 'export'));
    expect(manifest).not.toBeNull();
    expect(manifest!.outputs.length).toBeGreaterThan(0);
    for (const o of manifest!.outputs) expect(o.path).toMatch(/^data\/train-\d{5}-of-\d{5}\.parquet$/);
  });

  it('has messages as a LIST of STRUCT with tool_calls nested inside, in DuckDB', async () => {
    const rows = await duckQuery(`DESCRIBE SELECT * FROM read_parquet('${out}/export/data/*.parquet')`);
    const types = Object.fromEntries(rows.map((r) => [r['column_name'], r['column_type']]));
    expect(types).toEqual(EXPECTED_DUCKDB_TYPES);
    expect(types['messages']).toMatch(/^STRUCT\(.*tool_calls STRUCT\(.*\)\[\].*\)\[\]$/);
  });

  it('round-trips every row exactly: what DuckDB reads equals what export was given', async () => {
    // The export stage's input is the segment stage's output: rebuild the expected rows from it.
    const expected = new Map<string, SftRow>();
    for (const record of await recordsOf(out, 'segment')) {
      const row = toSftRow(record);
      expected.set(row.id, row);
    }
    const exported = (await readManifest(join(out, 'export')))!;
    const got = await duckQuery(`SELECT * FROM read_parquet('${out}/export/data/*.parquet') ORDER BY id`);
    expect(got.length).toBe(exported.records_out);
    expect(got.length).toBeGreaterThan(0);
    for (const row of got) {
      const want = expected.get(row['id'] as string);
      expect(want, `row ${String(row['id'])} was not in export's input`).toBeDefined();
      expect(row).toEqual(want);
    }
  });

  it('keeps null and empty lists distinct', async () => {
    const rows = await duckQuery(
      `SELECT count(*) FILTER (WHERE m.tool_calls IS NULL) AS null_calls, count(*) FILTER (WHERE m.tool_calls IS NOT NULL) AS with_calls
       FROM (SELECT unnest(messages) AS m FROM read_parquet('${out}/export/data/*.parquet'))`,
    );
    expect(Number(rows[0]!['null_calls'])).toBeGreaterThan(0);
    expect(Number(rows[0]!['with_calls'])).toBeGreaterThan(0);
  });

  it('skips every stage on a second run and leaves every file byte-identical', async () => {
    const before = await hashTree(out);
    const again = await runCli(['run', 'pipelines/sample.yaml', '--out', out]);
    expect(again.code).toBe(0);
    const skipped = again.stderr.split('\n').filter((l) => /up to date, skipped/.test(l));
    expect(skipped).toHaveLength(9);
    expect(await hashTree(out)).toEqual(before);
  });

  it('reruns only export with --only export --force, giving the same shards', async () => {
    const before = await hashTree(join(out, 'export', 'data'));
    const ingestManifest = await readFile(join(out, 'ingest', 'manifest.json'), 'utf8');
    const r = await runCli(['run', 'pipelines/sample.yaml', '--out', out, '--only', 'export', '--force']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^export +\d+ in -> \d+ out/m);
    expect(r.stderr).not.toMatch(/^(ingest|filter|dedup|label|segment) /m);
    expect(await hashTree(join(out, 'export', 'data'))).toEqual(before);
    expect(await readFile(join(out, 'ingest', 'manifest.json'), 'utf8')).toBe(ingestManifest);
  });

  it('validate passes on the sample export', async () => {
    const r = await runCli(['validate', out]);
    expect(r.stdout).toMatch(/valid\n$/);
    expect(r.code).toBe(0);
  });
});

import { cp, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineRecord, StageManifest } from '../../schemas/index.js';
import { hashValue } from '../../src/core/hash.js';
import { readManifest } from '../../src/runner/manifest.js';
import { isRefLine } from '../../src/runner/refs.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { recordsOf } from '../helpers/records.js';

const lines = async (file: string): Promise<string[]> => (await readFile(file, 'utf8')).split('\n').filter(Boolean);

/** The stages after ingest write references to ingest's lines plus what they add (src/runner/refs.ts). */
describe('reference lines between stages', () => {
  let out: string;

  beforeAll(async () => {
    out = await tempDir();
    const r = await runCli(['run', 'pipelines/sample.yaml', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('are what filter, dedup, label and segment write, a small fraction of the records they stand for', async () => {
    const ingest = (await readManifest(join(out, 'ingest')))!;
    for (const stage of ['filter', 'dedup', 'label', 'segment'] as const) {
      const m = (await readManifest(join(out, stage)))!;
      const part = await lines(join(out, stage, 'part-00000.jsonl'));
      expect(part.length, stage).toBe(m.records_out);
      for (const l of part) {
        expect(isRefLine(Buffer.from(l)), `${stage}: ${l.slice(0, 80)}`).toBe(true);
        expect(JSON.parse(l).$ref.stage).toBe('ingest');
      }
      // They point into ingest's output as it is now, and say so in the manifest.
      expect(m.references).toEqual({ ingest: ingest.output_fingerprint });
    }
    const bytes = async (stage: string) => (await readManifest(join(out, stage)))!.outputs.reduce((a, o) => a + o.bytes, 0);
    expect(await bytes('filter')).toBeLessThan((await bytes('ingest')) / 5);
  });

  it('resolve to the records the stage passed on: its added fields after the body of ingest\'s line', async () => {
    const ingested = new Map((await recordsOf(out, 'ingest')).map((r) => [r.id, r]));
    const segmented = await recordsOf(out, 'segment');
    expect(segmented.length).toBeGreaterThan(0);
    for (const r of segmented) {
      const { values, segment, policies, ...body } = r;
      expect(body).toEqual(ingested.get(r.id));
      expect(segment === undefined && policies === undefined).toBe(false);
      expect(Object.keys(r).slice(-2)).toEqual(['values', 'segment']);
      void values;
    }
  });

  it('trajpipe records prints a stage whole, or only --fields, as JSON lines', async () => {
    const whole = await runCli(['records', out, 'label']);
    expect(whole.code, whole.stderr).toBe(0);
    const printed = whole.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as PipelineRecord);
    expect(printed).toEqual(await recordsOf(out, 'label'));
    const picked = await runCli(['records', out, 'segment', '--fields', 'id,task_id,values']);
    expect(picked.code, picked.stderr).toBe(0);
    const rows = picked.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => Object.keys(r))).toEqual(rows.map(() => ['id', 'task_id', 'values']));
    expect(rows.map((r) => r.task_id)).toEqual((await recordsOf(out, 'segment')).map((r) => r.task_id));
    const none = await runCli(['records', out, 'export']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/The export stage writes no records/);
  });

  it('that point at lines which changed since are refused with a sentence, and a run redoes the stages after', async () => {
    const copy = await tempDir();
    await cp(out, copy, { recursive: true });
    // As if ingest had been rerun alone with another result: one character of its part changed.
    const file = join(copy, 'ingest', 'part-00000.jsonl');
    const text = (await readFile(file, 'utf8')).replace('"task":"', '"task":"!');
    await writeFile(file, text);
    const m = JSON.parse(await readFile(join(copy, 'ingest', 'manifest.json'), 'utf8')) as StageManifest;
    m.outputs[0]!.sha256 = createHash('sha256').update(text).digest('hex');
    m.outputs[0]!.bytes = Buffer.byteLength(text);
    m.output_fingerprint = hashValue(m.outputs.map((o) => [o.path, o.sha256]));
    await writeFile(join(copy, 'ingest', 'manifest.json'), JSON.stringify(m));

    const read = await runCli(['records', copy, 'filter']);
    expect(read.code).toBe(1);
    expect(read.stderr).toMatch(/The filter stage's records in .* refer to lines of the ingest stage, but its output changed since; rerun from filter/);

    const rerun = await runCli(['run', 'pipelines/sample.yaml', '--out', copy]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/^filter +\d+ in -> /m);
    const again = await runCli(['records', copy, 'segment', '--fields', 'id,task']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/"task":"!/);
  });
});

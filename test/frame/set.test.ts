import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../src/runner/runner.js';
import { runCli, tempDir } from '../helpers/cli.js';

const ranStages = (stderr: string): string[] => [...stderr.matchAll(/^(\w+) +\d+ in -> /gm)].map((m) => m[1]!);
const skippedStages = (stderr: string): string[] => [...stderr.matchAll(/^(\w+) +up to date, skipped/gm)].map((m) => m[1]!);

describe('--set', () => {
  it('changes one value for one run and reruns only the stages it reaches', async () => {
    const out = await tempDir();
    const pipelineBefore = await readFile('pipelines/sample.yaml', 'utf8');
    expect((await runCli(['run', 'pipelines/sample.yaml', '--out', out])).code).toBe(0);

    const changed = await runCli(['run', 'pipelines/sample.yaml', '--out', out, '--set', 'export.shard.max_rows=1']);
    expect(changed.code).toBe(0);
    expect(ranStages(changed.stderr)).toEqual(['export', 'tokenize', 'formats']);
    expect(skippedStages(changed.stderr)).toEqual(['ingest', 'filter', 'dedup', 'label', 'segment', 'pool']);
    const manifest = await readManifest(join(out, 'export'));
    expect(manifest!.outputs.every((o) => o.records === 1)).toBe(true);

    // The pipeline file is untouched, so the next plain run goes back to the file's value.
    expect(await readFile('pipelines/sample.yaml', 'utf8')).toBe(pipelineBefore);
    const back = await runCli(['run', 'pipelines/sample.yaml', '--out', out]);
    expect(ranStages(back.stderr)).toEqual(['export', 'tokenize', 'formats']);
  });

  it('--from reruns the named stage and everything after it', async () => {
    const out = await tempDir();
    expect((await runCli(['run', 'pipelines/sample.yaml', '--out', out])).code).toBe(0);
    const r = await runCli(['run', 'pipelines/sample.yaml', '--out', out, '--from', 'label']);
    expect(r.code).toBe(0);
    expect(ranStages(r.stderr)).toEqual(['label', 'segment', 'export', 'tokenize', 'formats', 'pool']);
  });
});

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE_ORDER, type StageManifest } from '../../schemas/index.js';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/runner/log.js';
import { runPipeline } from '../../src/runner/runner.js';
import { STAGES } from '../../src/stages/index.js';
import { hashTree, isManifest, tempDir } from '../helpers/cli.js';

const INPUTS = ['data/sample'];

async function manifestsWithoutTimings(out: string): Promise<Record<string, unknown>> {
  const all: Record<string, unknown> = {};
  for (const stage of STAGE_ORDER) {
    const { timings: _t, code_version: _c, ...rest } = JSON.parse(await readFile(join(out, stage, 'manifest.json'), 'utf8')) as StageManifest;
    all[stage] = rest;
  }
  return all;
}

describe('records handed between stages in memory', () => {
  it('give the same folders, byte for byte, as each stage run alone reading its upstream folder', async () => {
    const cache = await tempDir();
    const { config } = await loadConfig(null, ['name=handoff', `label.cache_dir=${cache}`]);
    const { resolveInputs } = await import('../../src/io/inputs.js');
    const inputFiles = await resolveInputs(INPUTS, process.cwd());
    const run = (outDir: string, only?: (typeof STAGE_ORDER)[number]) =>
      runPipeline({ config, stages: STAGES, outDir, inputFiles, only, force: only !== undefined, options: { dryRun: false, quiet: true }, log: silentLogger });

    const together = await tempDir();
    const outcomes = await run(together);
    expect(outcomes.map((o) => o.status)).toEqual(STAGE_ORDER.map(() => 'ran'));
    // They did run side by side: dedup started before filter had finished.
    const m = await manifestsWithoutTimings(together);
    const timing = async (stage: string) => (JSON.parse(await readFile(join(together, stage, 'manifest.json'), 'utf8')) as StageManifest).timings;
    expect((await timing('dedup')).started_at <= (await timing('filter')).finished_at).toBe(true);
    expect((await timing('export')).started_at <= (await timing('dedup')).finished_at).toBe(true);

    const alone = await tempDir();
    for (const stage of STAGE_ORDER) {
      const [o] = (await run(alone, stage)).filter((x) => x.stage === stage);
      expect(o?.status).toBe('ran');
    }
    const skip = (rel: string) => isManifest(rel) || rel === '.lock';
    expect(await hashTree(together, skip)).toEqual(await hashTree(alone, skip));
    expect(m).toEqual(await manifestsWithoutTimings(alone));
  }, 300_000);
});

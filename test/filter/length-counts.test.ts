import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthesizeCorpus } from '../../bench/synth.js';
import { loadConfig } from '../../src/config/load.js';
import { resolveInputs } from '../../src/io/inputs.js';
import { silentLogger } from '../../src/runner/log.js';
import { runPipeline } from '../../src/runner/runner.js';
import { STAGES } from '../../src/stages/index.js';
import { tempDir } from '../helpers/cli.js';

describe("filter's token counts kept across runs", () => {
  it('a rerun with another max_tokens decides from them, with the output of a fresh run', async () => {
    const work = await tempDir();
    await synthesizeCorpus({ dir: join(work, 'in'), targetBytes: 1.5e6, seed: 3, minTurns: 20, maxTurns: 60, maxObsBytes: 8000 });
    const inputFiles = await resolveInputs([join(work, 'in')], process.cwd());
    const filterOnly = async (out: string, maxTokens: number) => {
      const { config } = await loadConfig(null, ['name=counts', `filter.length.max_tokens=${maxTokens}`]);
      const run = (only: 'ingest' | 'filter') =>
        runPipeline({ config, stages: STAGES, outDir: out, inputFiles, only, options: { dryRun: false, quiet: true }, log: silentLogger });
      await run('ingest');
      await run('filter');
      const read = (f: string) => readFile(join(out, 'filter', f), 'utf8').catch(() => '');
      return { part: await read('part-00000.jsonl'), rejects: await read('rejects.jsonl') };
    };
    const rerun = join(work, 'rerun');
    const first = await filterOnly(rerun, 12_000);
    const counts = join(rerun, 'filter', (await import('node:fs/promises').then((m) => m.readdir(join(rerun, 'filter')))).find((f) => f.startsWith('measurements-'))!);
    expect((await readFile(counts, 'utf8')).split('\n').filter(Boolean).length).toBeGreaterThan(0);

    const changed = await filterOnly(rerun, 8_000);
    const fresh = await filterOnly(join(work, 'fresh'), 8_000);
    expect(changed).toEqual(fresh);
    expect(changed.rejects).not.toEqual(first.rejects);

    // The rerun really reads them: counts tampered with (every message 10^6 tokens) decide the next threshold.
    const tampered = (await readFile(join(rerun, 'filter', counts.split('/').pop()!), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const e = JSON.parse(l) as { k: string; v: { o: unknown[]; m: number[]; complete: boolean } };
        return JSON.stringify({ k: e.k, v: { ...e.v, m: e.v.m.map(() => 1e6), complete: true } });
      });
    await writeFile(join(rerun, 'filter', counts.split('/').pop()!), tampered.join('\n') + '\n');
    const fooled = await filterOnly(rerun, 9_000);
    expect(fooled.rejects.split('\n').filter(Boolean).length).toBe(tampered.length);
  }, 120_000);
});

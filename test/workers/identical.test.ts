import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesizeCorpus } from '../../bench/synth.js';
import { hashTree, isManifest, runCli, tempDir } from '../helpers/cli.js';

/**
 * The worker path and the single-thread path give byte-identical outputs: the whole pipeline, run with
 * runner.workers 0 and 2, on the sample and on a synthetic corpus whose limits make filter count tokens
 * and whose small row groups make export encode many groups in workers. Only manifests (timings) differ.
 */
async function build(args: string[], workers: number): Promise<string> {
  const out = await tempDir();
  const r = await runCli(['run', ...args, '--out', out, '--quiet', '--set', `runner.workers=${workers}`], { OPENAI_API_KEY: '' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return out;
}

async function stat(out: string, stage: string, key: string): Promise<unknown> {
  return (JSON.parse(await readFile(join(out, stage, 'manifest.json'), 'utf8')) as { stats: Record<string, unknown> }).stats[key];
}

describe.each([
  { name: 'the sample', args: async () => ['pipelines/sample.yaml', '--set', 'filter.length.max_observation_tokens=200', '--set', 'export.row_group_rows=2'] },
  {
    name: 'a synthetic corpus',
    args: async () => {
      const dir = await tempDir();
      await synthesizeCorpus({ dir, targetBytes: 1_500_000, seed: 3, minTurns: 5, maxTurns: 40, maxObsBytes: 6_000, perFile: 20 });
      return ['--input', dir, '--set', 'filter.length.max_observation_tokens=700', '--set', 'filter.length.max_tokens=15000', '--set', 'export.row_group_rows=3', '--set', 'export.shard.max_rows=10'];
    },
  },
])('runner.workers 0 vs 2 on $name', ({ args }) => {
  let single: string;
  let threaded: string;
  beforeAll(async () => {
    const a = await args();
    [single, threaded] = await Promise.all([build(a, 0), build(a, 2)]);
  }, 600_000);

  it('writes the same bytes in every stage folder, card and report', async () => {
    const a = await hashTree(single, isManifest);
    expect(Object.keys(a).some((f) => f.endsWith('.parquet'))).toBe(true);
    expect(await hashTree(threaded, isManifest)).toEqual(a);
  });

  it('really used the threads, and dropped runs by counted tokens', async () => {
    expect(await stat(single, 'filter', 'worker_threads')).toBe(0);
    expect(await stat(threaded, 'filter', 'worker_threads')).toBe(2);
    expect(await stat(threaded, 'export', 'worker_threads')).toBe(2);
    const rules = (await stat(threaded, 'filter', 'rules')) as Record<string, { checked: number; dropped: number }>;
    expect(rules['length']!.dropped).toBeGreaterThan(0);
    expect(await stat(threaded, 'filter', 'rules')).toEqual(await stat(single, 'filter', 'rules'));
  });
});

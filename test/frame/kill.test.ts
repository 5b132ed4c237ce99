import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthesizeCorpus } from '../../bench/synth.js';
import { readManifest } from '../../src/runner/runner.js';
import { hashTree, isManifest, runCli, startCli, tempDir } from '../helpers/cli.js';

const MIDDLE_STAGES = ['filter', 'dedup', 'label', 'segment'];

/**
 * Resolves with the first temporary folder of a middle stage seen in out once ingest is complete, polling
 * fast (filter and the stages after it run beside ingest, so their folders exist from the start).
 */
async function waitForPartial(out: string, stages: string[], timeoutMs: number): Promise<string | null> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const entries = await readdir(out).catch(() => [] as string[]);
    const hit = entries.includes('ingest') && stages.map((s) => entries.find((e) => e.startsWith(`.${s}.partial-`))).find((e) => e !== undefined);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 2));
  }
  return null;
}

describe('a run killed in the middle of a stage', () => {
  it('leaves nothing a rerun trusts, and the rerun gives the same output as an uninterrupted run', async () => {
    const work = await tempDir();
    const inputs = join(work, 'in');
    // Large enough that each stage takes a noticeable moment.
    await synthesizeCorpus({ dir: inputs, targetBytes: 40e6, seed: 7, minTurns: 20, maxTurns: 60, maxObsBytes: 8000, perFile: 100 });
    const pipeline = join(work, 'p.yaml');
    await writeFile(pipeline, `name: killtest\ninputs: [${inputs}]\n`);

    const reference = join(work, 'reference');
    expect((await runCli(['run', pipeline, '--out', reference, '--quiet'])).code).toBe(0);

    const out = join(work, 'killed');
    const { child, done } = startCli(['run', pipeline, '--out', out, '--quiet']);
    const partial = await waitForPartial(out, MIDDLE_STAGES, 60_000);
    expect(partial, 'the run finished before a middle stage could be caught').not.toBeNull();
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');

    const stage = partial!.slice(1).split('.')[0]!;
    expect(await readManifest(join(out, stage)), `${stage} must not look complete`).toBeNull();
    expect(await readManifest(join(out, 'export'))).toBeNull();

    const rerun = await runCli(['run', pipeline, '--out', out]);
    expect(rerun.code).toBe(0);
    // Stages finished before the kill are reused, the killed one is redone.
    expect(rerun.stderr).toMatch(/^ingest +up to date, skipped/m);
    expect(rerun.stderr).toMatch(new RegExp(`^${stage} +\\d+ in -> `, 'm'));

    const leftovers = (await readdir(out)).filter((e) => e.includes('.partial-') || e.includes('.old-'));
    expect(leftovers).toEqual([]);
    expect(await hashTree(out, (rel) => isManifest(rel) || rel === '.lock')).toEqual(await hashTree(reference, (rel) => isManifest(rel) || rel === '.lock'));
  });
});

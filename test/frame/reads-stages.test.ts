// Stage.readsStages: a stage that reads earlier stages' folders (formats reads export, pool reads ingest and
// filter) is fingerprinted on exactly those stages, not on its upstream.
import { describe, expect, it } from 'vitest';
import type { StageName } from '../../schemas/index.js';
import { loadConfig } from '../../src/config/load.js';
import { readInputFingerprint, runPipeline } from '../../src/runner/runner.js';
import { silentLogger } from '../../src/runner/log.js';
import type { Stage, StageContext } from '../../src/runner/stage.js';
import { passThrough } from '../../src/stages/passthrough.js';
import { STAGES } from '../../src/stages/index.js';
import { tempDir } from '../helpers/cli.js';

const replace = (stages: readonly Stage[], name: StageName, patch: Partial<Stage>) => stages.map((s) => (s.name === name ? { ...s, ...patch } : s));

async function setup() {
  const { config } = await loadConfig(null, ['name=t']);
  return { dir: await tempDir(), config, inputFiles: ['data/sample/canonical/runs.jsonl'] };
}
const run = (stages: readonly Stage[], s: Awaited<ReturnType<typeof setup>>) =>
  runPipeline({ config: s.config, stages, outDir: s.dir, inputFiles: s.inputFiles, options: { dryRun: false, quiet: true }, log: silentLogger });
const statusOf = (o: Awaited<ReturnType<typeof run>>) => Object.fromEntries(o.map((x) => [x.stage, x.status]));

describe('Stage.readsStages', () => {
  it('reruns the reading stage when a stage it reads changes, and not when its upstream alone changes', async () => {
    const s = await setup();
    await run(STAGES, s);
    // dedup drops the first record: pool (reads ingest, filter) must not rerun; formats (reads export) must.
    const dropFirst = async (ctx: StageContext) => {
      let first = true;
      for await (const r of ctx.records()) {
        if (first) {
          first = false;
          await ctx.reject({ reason: 'test-drop', message: 'dropped by the test', id: r.id });
        } else await ctx.emit(r);
      }
    };
    const changed = await run(replace(STAGES, 'dedup', { run: dropFirst, version: 'test-1' }), s);
    expect(statusOf(changed)).toMatchObject({ ingest: 'skipped', filter: 'skipped', dedup: 'ran', export: 'ran', formats: 'ran', pool: 'skipped' });

    // ingest's output changes (one record fewer): pool reruns although its upstream (formats) would not have.
    const s2 = { ...s, inputFiles: ['data/sample/canonical/runs.jsonl', 'data/sample/native/swe-agent-1.x/acme__dates-9.traj'] };
    const more = await run(replace(STAGES, 'dedup', { run: dropFirst, version: 'test-1' }), s2);
    expect(statusOf(more)).toMatchObject({ ingest: 'ran', pool: 'ran' });
  });

  it('hashes the read stages\' output and stage fingerprints, in declared order', () => {
    const m = (stage: StageName, out: string, fp: string) => ({ manifest: { stage, output_fingerprint: out, fingerprint: fp } as never, dir: '/x' });
    const stage = { ...STAGES.find((x) => x.name === 'pool')! };
    const seen = new Map([['ingest', m('ingest', 'o1', 'f1')], ['filter', m('filter', 'o2', 'f2')]] as const);
    const base = readInputFingerprint(stage, null, seen);
    // The filter stage's fingerprint covers its rejects, which are not among its outputs.
    const rejectsChanged = new Map([['ingest', m('ingest', 'o1', 'f1')], ['filter', m('filter', 'o2', 'f3')]] as const);
    expect(readInputFingerprint(stage, null, rejectsChanged)).not.toBe(base);
    const outputChanged = new Map([['ingest', m('ingest', 'o9', 'f1')], ['filter', m('filter', 'o2', 'f2')]] as const);
    expect(readInputFingerprint(stage, null, outputChanged)).not.toBe(base);
    // A stage without readsStages keeps the upstream's output fingerprint.
    const plain = STAGES.find((x) => x.name === 'dedup')!;
    expect(readInputFingerprint(plain, { output_fingerprint: 'up' } as never, seen)).toBe('up');
    // A declared stage with no complete output is a user error, not a silent empty input.
    expect(() => readInputFingerprint(stage, null, new Map([['ingest', m('ingest', 'o1', 'f1')]] as const))).toThrow(/reads the filter stage/);
  });

  it('refuses ctx.records() in a stage that declared readsStages (its fingerprint does not cover them)', async () => {
    const s = await setup();
    const stages = replace(STAGES, 'pool', { run: passThrough });
    await expect(run(stages, s)).rejects.toThrow(/declares readsStages/);
  });
});

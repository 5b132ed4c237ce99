import { afterEach, describe, expect, it } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { PipelineRecord, Reject, StageManifest, StageName } from '../../schemas/index.js';
import { BUILTIN_INSTRUCTIONS, BUILTIN_INSTRUCTIONS_UNKNOWN_OUTCOME } from '../../src/teacher/prompt.js';
import { runCli } from '../helpers/cli.js';
import { startFakeTeacher, type FakeTeacher } from './fake-teacher.js';
import { makeRun, readJsonl, tempDir, writeRuns } from './fixtures.js';
import { recordsOf } from '../helpers/records.js';

let fake: FakeTeacher | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

/** The records of a stage folder (<run>/<stage>), reference lines resolved. */
const parts = (dir: string): Promise<PipelineRecord[]> => recordsOf(dirname(dir), basename(dir) as StageName);
const manifest = async (dir: string) => JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as StageManifest;

/** Two runs never evaluated (resolved: null), one failed, one resolved: canonical JSON lines the real ingest reads. */
async function input() {
  const dir = await tempDir('trajpipe-unknown-');
  const runs = [
    makeRun({ task: 'Unknown outcome one: fix the pager.', resolved: null, steps: 5 }, 0),
    makeRun({ task: 'Failed: fix the csv reader.', resolved: false, steps: 5 }, 1),
    makeRun({ task: 'Unknown outcome two: fix the retry loop.', resolved: null, steps: 6 }, 2),
    makeRun({ task: 'Resolved: fix the parser.', resolved: true, steps: 4 }, 3),
  ];
  return { dir, runs, file: await writeRuns(dir, runs), out: join(dir, 'out') };
}

const base = (file: string, out: string, extra: string[] = []) => [
  'run', '--input', file, '--out', out, '--quiet',
  '--set', 'filter.enabled=false', '--set', 'dedup.enabled=false', '--set', 'segment.min_peak_value=0', ...extra.flatMap((e) => ['--set', e]),
];

describe('segment.unknown_outcome: as-failed, end to end through the CLI', () => {
  it('heuristic: unknown-outcome runs are labelled (their own version), cut like failed runs and exported as unknown; the default drops them', async () => {
    const { runs, file, out } = await input();
    const dropped = await runCli(base(file, out));
    expect(dropped.code, dropped.stderr).toBe(0);
    const segRejects = await readJsonl<Reject>(join(out, 'segment', 'rejects.jsonl'));
    expect(segRejects.map((r) => r.reason)).toEqual(['unknown-outcome', 'unknown-outcome']);

    // Switching the option reruns label (its config slice includes it), not only segment.
    const kept = await runCli(base(file, out, ['segment.unknown_outcome=as-failed']));
    expect(kept.code, kept.stderr).toBe(0);
    const labelManifest = await manifest(join(out, 'label'));
    expect(labelManifest.config).toMatchObject({ unknown_outcome: 'as-failed' });
    expect(labelManifest.stats.labelled_by_outcome).toEqual({ failed: 1, unknown: 2 });
    const labelled = await parts(join(out, 'label'));
    const byId = new Map(labelled.map((r) => [r.id, r]));
    expect(byId.get(runs[0]!.id)!.values?.prompt_version).toBe('heuristic-3+unknown-outcome');
    expect(byId.get(runs[2]!.id)!.values?.prompt_version).toBe('heuristic-3+unknown-outcome');
    expect(byId.get(runs[1]!.id)!.values?.prompt_version).toBe('heuristic-3');
    // No failure hindsight for an unknown outcome: its last step is not pulled down to the failed-run floor.
    expect(byId.get(runs[0]!.id)!.values!.values.at(-1)).toBeGreaterThan(0.05);
    expect(byId.get(runs[1]!.id)!.values!.values.at(-1)).toBeLessThanOrEqual(0.05);

    expect(await readJsonl<Reject>(join(out, 'segment', 'rejects.jsonl'))).toEqual([]);
    const segmented = await parts(join(out, 'segment'));
    const unknown = segmented.filter((r) => r.outcome.resolved === null);
    expect(unknown).toHaveLength(2);
    for (const r of unknown) expect(r.segment!.trained_steps.length).toBeGreaterThan(0);
    const exported = await manifest(join(out, 'export'));
    expect(exported.records_out).toBe(4);
    const valid = await runCli(['validate', out]);
    expect(valid.code, valid.stdout + valid.stderr).toBe(0);
    expect(valid.stdout).toMatch(/unknown 2/);
  }, 240_000);

  it('teacher: the prompt of an unknown-outcome run never says it failed, and its version says which prompt it got', async () => {
    fake = await startFakeTeacher();
    const { runs, file, out } = await input();
    const dir = join(out, '..');
    const r = await runCli([...base(file, out, ['segment.unknown_outcome=as-failed', `label.cache_dir=${join(dir, 'cache')}`]), '--teacher-base-url', fake.url, '--teacher-model', 'fake']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests).toHaveLength(3);
    const sent = (task: string) => fake!.requests.find((q) => q.task === task)!.body.messages as { role: string; content: string }[];
    const unknown = sent(runs[0]!.task);
    expect(unknown[0]!.content).toBe(BUILTIN_INSTRUCTIONS_UNKNOWN_OUTCOME);
    expect(unknown[1]!.content).toContain('The outcome of this run is UNKNOWN');
    expect(unknown.map((m) => m.content).join('\n')).not.toMatch(/FAILED|did not resolve/);
    const failed = sent(runs[1]!.task);
    expect(failed[0]!.content).toBe(BUILTIN_INSTRUCTIONS);
    expect(failed[1]!.content).toContain('The run FAILED');

    const labelled = new Map((await parts(join(out, 'label'))).map((x) => [x.id, x]));
    expect(labelled.get(runs[0]!.id)!.values?.prompt_version).toBe('hindsight-1+unknown-outcome');
    expect(labelled.get(runs[1]!.id)!.values?.prompt_version).toBe('hindsight-1');
    expect((await parts(join(out, 'segment'))).filter((x) => x.outcome.resolved === null)).toHaveLength(2);
  }, 240_000);
});

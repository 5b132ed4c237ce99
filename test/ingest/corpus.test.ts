import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Trajectory } from '../../schemas/index.js';
import { ROOT } from '../helpers/cli.js';
import { ingest, type IngestResult } from './helpers.js';

// Ingests every trajectory of the real public corpus in ../shared/corpus and checks it against the
// corpus's own MANIFEST.json and label files, counting turns straight from the raw files.

const SHARED = resolve(ROOT, '../shared/corpus');
const HAVE_SHARED = existsSync(join(SHARED, 'MANIFEST.json'));
if (!HAVE_SHARED) console.warn(`SKIPPED: ${SHARED} not found; the ingest corpus tests need ../shared/corpus beside the project.`);

interface ManifestEntry {
  harness: string;
  kind: string;
  dest: string;
  instance_id?: string;
  label?: string;
  exit_status?: string | null;
  model?: string;
  n_steps?: number;
  n_messages?: number;
}

type J = Record<string, any>;

/** The corpus's own words for a verdict, as a resolved value (null: no test verdict). */
function expectedResolved(label: string | undefined): boolean | null {
  if (!label) return null;
  if (/^(resolved|target=True|resolved=True)$/.test(label)) return true;
  if (/^(unresolved|empty_patch|error|target=False|resolved=False)$/.test(label) || label.startsWith('empty_error_patch')) return false;
  return null; // not_completed, demonstrations, LLM-judged or user-judged verdicts, "unknown ..."
}

/** Assistant turns of one raw run, counted from the raw JSON without the project's adapters. */
function rawAgentTurns(file: string, raw: unknown): number {
  if (file.endsWith('.traj')) {
    const r = raw as J;
    const inHistory = (r.history as J[]).filter((m) => m.role === 'assistant' && !m.is_demo).length;
    return Math.max(inHistory, (r.trajectory ?? []).length);
  }
  if (file.endsWith('.traj.json')) {
    const msgs = (Array.isArray(raw) ? raw : (raw as J).messages) as J[];
    return msgs.filter((m) => m.role === 'assistant').length;
  }
  const r = raw as J;
  if (Array.isArray(r.fncall_messages)) return r.fncall_messages.filter((m: J) => m.role === 'assistant').length + 1;
  const rows = (r.messages ?? r.trajectory) as J[] | undefined;
  if (rows && rows.every((m) => 'role' in m)) return rows.filter((m) => m.role === 'assistant' || m.role === 'ai').length;
  // Event streams: one turn per LLM response; events without one (legacy) are one turn each.
  const events = (Array.isArray(raw) ? raw : (r.history as unknown[]).flat()) as J[];
  const turns = new Set<string>();
  let userMessages = 0;
  events.forEach((e, i) => {
    if (typeof e.action !== 'string' || ['system', 'recall', 'change_agent_state', 'initialize'].includes(e.action)) return;
    if (e.action === 'message' && (e.source === 'user' || (e.source === undefined && userMessages === 0))) {
      userMessages++;
      return;
    }
    turns.add(e.tool_call_metadata?.model_response?.id ?? `event-${i}`);
  });
  return turns.size;
}

/** The record number ingest gives: the 1-based line of a JSON-lines record (blank lines counted), 0 for a one-run file. */
function rawRecordNumbers(path: string): number[] {
  if (!path.endsWith('.jsonl')) return [0];
  return readFileSync(path, 'utf8').split('\n').flatMap((l, i) => (l.trim() ? [i + 1] : []));
}

function rawRecords(path: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  return path.endsWith('.jsonl') ? text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)) : [JSON.parse(text)];
}

describe.skipIf(!HAVE_SHARED)('ingest of the real corpus (../shared/corpus)', () => {
  let result: IngestResult;
  let manifest: ManifestEntry[];
  let trajectories: ManifestEntry[];
  const recordsOf = (dest: string): Trajectory[] => result.records.filter((r) => resolve(r.source.file) === join(SHARED, dest)).sort((a, b) => a.source.record - b.source.record);

  beforeAll(async () => {
    manifest = JSON.parse(readFileSync(join(SHARED, 'MANIFEST.json'), 'utf8')) as ManifestEntry[];
    trajectories = manifest.filter((e) => e.kind === 'trajectory');
    result = await ingest([SHARED]);
  }, 60_000);

  it('rejects nothing: every trajectory of the corpus is read', () => {
    expect(result.rejects).toEqual([]);
    expect(result.manifest.dropped).toEqual({});
    const expected = trajectories.reduce((n, e) => n + rawRecords(join(SHARED, e.dest)).length, 0);
    expect(result.manifest.records_in).toBe(expected);
    expect(result.records).toHaveLength(expected);
  });

  it('counts records per harness as the corpus manifest lists them', () => {
    const expected: Record<string, number> = {};
    for (const e of trajectories) expected[e.harness] = (expected[e.harness] ?? 0) + rawRecords(join(SHARED, e.dest)).length;
    expect(result.manifest.stats.per_harness).toEqual(expected);
    for (const e of trajectories) {
      for (const r of recordsOf(e.dest)) expect(r.source.harness, e.dest).toBe(e.harness);
    }
  });

  it('has one step per assistant turn of the raw file, for every run', () => {
    for (const e of trajectories) {
      const raws = rawRecords(join(SHARED, e.dest));
      const recs = recordsOf(e.dest);
      expect(recs.map((r) => r.source.record), e.dest).toEqual(rawRecordNumbers(join(SHARED, e.dest)));
      raws.forEach((raw, i) => expect(recs[i]!.steps.length, `${e.dest} record ${i}`).toBe(rawAgentTurns(e.dest, raw)));
      if (e.n_steps) expect(recs[0]!.steps.length, e.dest).toBe(e.n_steps);
      if (e.n_messages) expect(recs[0]!.messages.length, e.dest).toBe(e.n_messages);
    }
  });

  it('joins the outcome of every labelled run, and leaves the others null', () => {
    let labelled = 0;
    for (const e of trajectories) {
      const want = expectedResolved(e.label);
      for (const r of recordsOf(e.dest)) {
        expect(r.outcome.resolved, `${e.dest} (${e.label})`).toBe(want);
        if (want !== null) {
          labelled++;
          expect(r.outcome.label_source, e.dest).toBeTruthy();
        } else {
          expect(r.outcome.label_source, e.dest).toBeNull();
        }
        if (e.instance_id) expect(r.task_id, e.dest).toBe(e.instance_id);
        if (e.exit_status !== undefined) expect(r.outcome.exit_status, e.dest).toBe(e.exit_status);
        if (e.model && e.harness === 'swe-agent') expect(r.source.teacher_model, e.dest).toBe(e.model);
      }
    }
    expect(labelled).toBeGreaterThanOrEqual(40);
  });

  it('takes SWE-agent verdicts from the results.json of the same model folder, not the sibling one', () => {
    for (const model of ['deepseek-chat-v2', 'gpt-4o-2024-05-13']) {
      const dir = join(SHARED, 'swe-agent/multi-swe-bench-java_v0.x', model);
      const results = JSON.parse(readFileSync(join(dir, 'results/results.json'), 'utf8')) as J;
      const runs = result.records.filter((r) => resolve(r.source.file).startsWith(dir + '/'));
      expect(runs.length).toBeGreaterThan(0);
      for (const r of runs) {
        if ((results.resolved as string[]).includes(r.task_id)) expect(r.outcome.resolved).toBe(true);
        else if ((results.incomplete_ids as string[]).includes(r.task_id)) expect(r.outcome.resolved).toBeNull();
        else expect(r.outcome.resolved).toBe(false);
        if (r.outcome.resolved !== null) expect(r.outcome.label_source).toContain(`${model}/results/results.json`);
      }
    }
  });

  it('matches every mini-swe-agent verdict against its report.json and the sb-cli report', () => {
    const dir = join(SHARED, 'mini-swe-agent/swebench-verified_gemini-3-pro_mini-v1.15.0');
    const sbcli = JSON.parse(readFileSync(join(dir, 'swe-bench_verified__test__20251118_mini-v1.15.0_gemini-3-pro-preview-20251118.json'), 'utf8')) as J;
    const runs = result.records.filter((r) => r.source.format === 'mini-swe-agent-1');
    expect(runs).toHaveLength(12);
    for (const r of runs) {
      const report = JSON.parse(readFileSync(join(dir, 'logs', `${r.task_id}.report.json`), 'utf8')) as J;
      expect(r.outcome.resolved).toBe(report.resolved);
      expect(r.outcome.resolved).toBe((sbcli.resolved_ids as string[]).includes(r.task_id));
      expect(r.outcome.label_source).toContain(`${r.task_id}.report.json`);
    }
  });

  it('reports label files as consumed and other files as skipped, never as records', () => {
    const labelFiles = (result.manifest.stats.label_files as { file: string }[]).map((f) => f.file);
    expect(labelFiles.some((f) => f.endsWith('deepseek-chat-v2/results/results.json'))).toBe(true);
    expect(labelFiles.some((f) => f.endsWith('logs/django__django-16255.report.json'))).toBe(true);
    const skipped = (result.manifest.stats.skipped_files as { file: string; reason: string }[]).map((s) => s.file);
    expect(skipped.some((f) => f.endsWith('MANIFEST.json'))).toBe(true);
    // metadata.yaml names the run's model: used, listed apart, not a skipped file.
    expect(skipped.some((f) => f.endsWith('metadata.yaml'))).toBe(false);
    expect((result.manifest.stats.run_metadata_files as string[]).some((f) => f.endsWith('metadata.yaml'))).toBe(true);
  });

  it('keeps provider reasoning apart from the visible text and flags what the harness reported', () => {
    const mini = result.records.find((r) => r.task_id === 'django__django-10097' && r.source.harness === 'mini-swe-agent')!;
    expect(mini.messages.some((m) => m.role === 'assistant' && m.reasoning_content)).toBe(true);
    expect(mini.steps.filter((s) => s.flags.format_error)).toHaveLength(4);
    const timeout = result.records.find((r) => r.task_id === 'matplotlib__matplotlib-26208')!;
    expect(timeout.steps.some((s) => s.flags.timeout)).toBe(true);
    const clipped = result.records.find((r) => r.task_id === 'astropy__astropy-8707')!;
    expect(clipped.steps.filter((s) => s.flags.truncated_observation)).toHaveLength(4);
    const cost = result.records.find((r) => r.task_id === 'fasterxml__jackson-databind-4132')!;
    const last = cost.steps[cost.steps.length - 1]!;
    expect(last.actions[0]).toMatchObject({ kind: 'exit', name: 'exit_cost' });
    expect(last.flags.harness_error).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Trajectory } from '../../schemas/index.js';
import { blamedEdits, heuristicCurve, heuristicValues, readTestResult, stepEvidence } from '../../src/stages/label/heuristic.js';
import { peakIndex } from '../../src/teacher/samples.js';
import { makeRun } from './fixtures.js';

const SAMPLE = resolve(import.meta.dirname, '../../data/sample/canonical/runs.jsonl');

async function failedSampleRuns(): Promise<Trajectory[]> {
  const text = await readFile(SAMPLE, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => Trajectory.parse(JSON.parse(l)))
    .filter((r) => r.outcome.resolved === false);
}

/** Step where the curve falls most. */
function biggestDrop(values: number[]): number {
  let at = -1;
  let worst = 0;
  for (let i = 1; i < values.length; i++) if (values[i - 1]! - values[i]! > worst) [worst, at] = [values[i - 1]! - values[i]!, i];
  return at;
}

describe('heuristic labeler', () => {
  it('gives the sample failed runs an inverted U that falls at the harmful edit', async () => {
    const runs = await failedSampleRuns();
    expect(runs.map((r) => r.task_id)).toEqual(['acme__pager-12', 'acme__csvkit-31', 'acme__retry-4']);
    // pager: wrong edit at 3 (tests go red at 4); csvkit: correct edit at 3, harmful rewrite at 6; retry: wrong default at 2.
    const harmful = [3, 6, 2];
    runs.forEach((run, k) => {
      const values = heuristicCurve(run);
      expect(values).toHaveLength(run.steps.length);
      for (const v of values) expect(v >= 0 && v <= 1).toBe(true);
      const peak = peakIndex(values);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThan(harmful[k]!);
      expect(biggestDrop(values)).toBe(harmful[k]);
      expect(values[values.length - 1]).toBe(Math.min(...values));
    });
  });

  it('is deterministic and marked as the heuristic, never as a teacher', async () => {
    const [run] = await failedSampleRuns();
    const a = heuristicValues(run!);
    expect(heuristicValues(run!)).toEqual(a);
    expect(a).toMatchObject({ labeler: 'heuristic', model: null, prompt_version: 'heuristic-3', request_hash: null, samples: null });
  });

  it('reads pytest and unittest summaries', () => {
    expect(readTestResult('=== 3 failed, 2 passed in 0.05s ===')).toEqual({ passed: 2, failed: 3 });
    expect(readTestResult('5 passed in 0.04s')).toEqual({ passed: 5, failed: 0 });
    expect(readTestResult('1 passed, 2 errors')).toEqual({ passed: 1, failed: 2 });
    expect(readTestResult('Ran 4 tests in 0.1s\n\nFAILED (failures=1, errors=1)')).toEqual({ passed: 2, failed: 2 });
    expect(readTestResult('Ran 4 tests in 0.1s\n\nOK')).toEqual({ passed: 4, failed: 0 });
    expect(readTestResult('no tests here')).toBeNull();
  });

  it('blames the edit before red tests, not one that made them better', () => {
    const run = makeRun({ task: 't', steps: 7 }, 0);
    const ev = run.steps.map((s) => stepEvidence(run, s));
    const kinds = ev.map((e) => e.kind);
    expect(kinds).toEqual(['explore', 'explore', 'edit', 'explore', 'explore', 'explore', 'submit']);
    const withTests = [
      { ...ev[0]!, kind: 'edit' as const },
      { ...ev[0]!, kind: 'test' as const, tests: { passed: 1, failed: 3 } },
      { ...ev[0]!, kind: 'edit' as const },
      { ...ev[0]!, kind: 'test' as const, tests: { passed: 3, failed: 1 } },
      { ...ev[0]!, kind: 'edit' as const },
      { ...ev[0]!, kind: 'test' as const, tests: { passed: 2, failed: 2 } },
    ];
    // 0 made tests red; 2 improved them; 4 made them worse (and is the last, unverified edit).
    expect([...blamedEdits(withTests)].sort()).toEqual([0, 4]);
  });

  it('wasted steps lower the curve: repeats, timeouts and format errors', () => {
    const base = makeRun({ task: 't', steps: 6 }, 0);
    const clean = heuristicCurve(base);
    const wasteful = structuredClone(base);
    wasteful.steps[1]!.flags.timeout = true;
    wasteful.steps[3]!.flags.format_error = true;
    wasteful.steps[3]!.actions = [];
    const worse = heuristicCurve(wasteful);
    expect(worse[1]).toBeLessThan(clean[1]!);
    expect(worse[3]).toBeLessThan(clean[3]!);
  });
});

// Heuristic labels are called what they are: baseline labels, in the dataset card and after the run.
import { describe, expect, it } from 'vitest';
import type { StageManifest } from '../../schemas/index.js';
import { baselineLabelsNotice } from '../../src/cli/run.js';
import type { StageOutcome } from '../../src/runner/runner.js';
import { baselineLabelsNote } from '../../src/stages/export/card.js';

const labelOutcome = (stats: Record<string, unknown>): StageOutcome => ({ stage: 'label', status: 'ran', manifest: { stats } as unknown as StageManifest });

describe('baseline labels', () => {
  it('the card says heuristic rows carry baseline labels and how to configure a teacher', () => {
    const note = baselineLabelsNote({ 'heuristic (no model, heuristic-3)': 7, 'none (not labelled)': 11 });
    expect(note).toMatch(/Baseline labels, not teacher labels/);
    expect(note).toMatch(/^\n\*\*Baseline.*7 row\(s\)/);
    expect(note).toContain('label.teacher.base_url');
    expect(note).toContain('--teacher-base-url');
  });

  it('says nothing when no row was labelled by the heuristic', () => {
    expect(baselineLabelsNote({ 'teacher (Qwen/Qwen3-235B, hindsight-1)': 5, 'none (not labelled)': 3 })).toBe('');
    expect(baselineLabelsNote({})).toBe('');
  });

  it('the end-of-run notice names the heuristic runs, and is silent for a teacher or nothing labelled', () => {
    expect(baselineLabelsNotice([labelOutcome({ labeler: 'heuristic', runs: { labelled: 7, resolved: 11 } })])).toMatch(
      /the 7 failed run\(s\) carry baseline labels from the offline heuristic, not teacher labels.*--teacher-base-url/,
    );
    expect(baselineLabelsNotice([labelOutcome({ labeler: 'teacher', runs: { labelled: 7 } })])).toBeNull();
    expect(baselineLabelsNotice([labelOutcome({ labeler: 'heuristic', runs: { resolved: 4 } })])).toBeNull();
    expect(baselineLabelsNotice([{ stage: 'label', status: 'stopped', reason: 'budget' }])).toBeNull();
    expect(baselineLabelsNotice([])).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import type { PipelineRecord } from '../../schemas/index.js';
import { formatRun, textChart } from '../../src/report/inspect.js';
import { makeRun } from '../label/fixtures.js';
import { runCli, tempDir } from '../helpers/cli.js';

/** A failed run of 6 steps peaking at step 2, falling most at step 3, trained on steps 0-2 and cut after. */
function segmented(): PipelineRecord {
  const run = makeRun({ task: 'Fix the pager.', steps: 6, resolved: false, observationChars: 2000 });
  const values = [0.3, 0.5, 0.8, 0.2, 0.15, 0.1];
  const msgOf = (s: number) => run.steps[s]!.message_index;
  return {
    ...run,
    values: { labeler: 'heuristic', model: null, prompt_version: 'h', values, samples: null, spread: null, peak_disagreement: null, flags: [], request_hash: null },
    segment: {
      train_start: msgOf(0), train_end: msgOf(2), trained_steps: [0, 1, 2], peak_step: 2, peak_value: 0.8, critical_step: 3, critical_drop: 0.6,
      shape: 'inverted-u', smoothed: values, note: null, cut_after: msgOf(2),
    },
  };
}

describe('trajpipe inspect', () => {
  it('draws P at the peak step, X at the critical step, T under the trained steps and the cut after them', () => {
    const lines = textChart(segmented()).split('\n');
    const column = (step: number) => 5 + step * 4 + 3; // "step " then 4 characters per step, right-aligned
    const rowWith = (ch: string) => lines.find((l) => l[column(2)] === ch || l[column(3)] === ch)!;
    expect(rowWith('P')[column(2)]).toBe('P');
    expect(rowWith('X')[column(3)]).toBe('X');
    // P is drawn higher (earlier row) than X: 0.8 against 0.2.
    expect(lines.indexOf(rowWith('P'))).toBeLessThan(lines.indexOf(rowWith('X')));
    const loss = lines.find((l) => l.startsWith('loss'))!;
    expect([0, 1, 2, 3, 4, 5].map((s) => loss[column(s)]).join('')).toBe('TTT---');
    const cut = lines.find((l) => l.includes('^ cut'))!;
    expect(cut.indexOf('^')).toBe(column(2) + 2);
  });

  it('marks trained turns, messages left out of the export, folds long observations, and says why it cut', () => {
    const r = segmented();
    const text = formatRun(r);
    expect(text.match(/^ \[T\] #\d+ assistant/gm)).toHaveLength(3);
    expect(text.match(/^x\[ \] #\d+ assistant/gm)).toHaveLength(3);
    expect(text).toMatch(/#3 tool: .*\(2000 chars, folded\)/);
    expect(text).toContain('peak at step 2 (0.800); critical mistake at step 3 (the value falls 0.600); trained steps 0–2');
    expect(text).toContain(`messages after #${r.segment!.cut_after} are not exported`);
  });

  it('exits 1 with a sentence for an unknown run', async () => {
    const r = await runCli(['inspect', await tempDir(), 'abcdef12']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No run abcdef12 in /);
  });
});

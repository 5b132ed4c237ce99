// The comparison script's statistics, and the stored teacher labels it reads being well-formed.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spearman } from '../../bench/heuristic-vs-teacher.js';

const LABELS = fileURLToPath(new URL('../../bench/teacher-labels/corpus-hindsight-1.jsonl', import.meta.url));

describe('heuristic vs teacher', () => {
  it('Spearman rho: 1 for the same order, -1 for the reverse, ties share their mean rank, null for a flat curve', () => {
    expect(spearman([0.1, 0.5, 0.9], [1, 2, 3])).toBeCloseTo(1);
    expect(spearman([0.1, 0.5, 0.9], [3, 2, 1])).toBeCloseTo(-1);
    // ranks a = [1, 2.5, 2.5, 4] (0-based 0, 1.5, 1.5, 3), b = [1, 2, 3, 4]
    expect(spearman([0.1, 0.5, 0.5, 0.9], [1, 2, 3, 4])).toBeCloseTo(0.9487, 3);
    expect(spearman([0.4, 0.4, 0.4], [1, 2, 3])).toBeNull();
  });

  it('the stored teacher labels have one value in [0, 1] per step, unique run ids and their provenance', async () => {
    const lines = (await readFile(LABELS, 'utf8')).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(8);
    expect(new Set(lines.map((l) => l.run_id)).size).toBe(lines.length);
    expect(new Set(lines.map((l) => String(l.format).split('-').slice(0, 2).join('-'))).size).toBe(3);
    for (const l of lines) {
      const values = l.values as number[];
      expect(values.length, String(l.task_id)).toBe(l.steps);
      expect(values.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(l.prompt_version).toBe('hindsight-1');
      expect(String(l.teacher)).toMatch(/LLM acting as the teacher/);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/runner/progress.js';

describe('progress when not a terminal', () => {
  it('writes plain periodic lines with counts, rate and time left', () => {
    const lines: string[] = [];
    const p = createProgress({ stage: 'label', total: 100, quiet: false, tty: false, intervalMs: 0, write: (l) => lines.push(l) });
    p.update(40, 35, 5);
    p.stop();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[label\] 40\/100 in, 35 out, 5 dropped, [\d.]+ records\/s, ~\d+s left$/);
  });

  it('stays silent within the interval and when quiet', () => {
    const lines: string[] = [];
    const slow = createProgress({ stage: 'x', total: null, quiet: false, tty: false, intervalMs: 60_000, write: (l) => lines.push(l) });
    slow.update(1, 1, 0);
    const quiet = createProgress({ stage: 'x', total: null, quiet: true, tty: false, intervalMs: 0, write: (l) => lines.push(l) });
    quiet.update(1, 1, 0);
    expect(lines).toEqual([]);
  });
});

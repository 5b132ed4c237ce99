import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgress, defaultIntervalMs } from '../../src/runner/progress.js';

describe('progress when not a terminal', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes plain periodic lines with counts, rate and time left', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const p = createProgress({ stage: 'label', total: 100, quiet: false, tty: false, intervalMs: 10_000, write: (l) => lines.push(l) });
    p.update(40, 35, 5);
    vi.advanceTimersByTime(10_000);
    p.stop();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[label\] 40\/100 in, 35 out, 5 dropped, [\d.]+ records\/s, ~\d+s left$/);
  });

  it('keeps writing every interval while no record moves (one big file being read), and stops with the stage', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const p = createProgress({ stage: 'ingest', total: null, quiet: false, tty: false, intervalMs: 10_000, write: (l) => lines.push(l) });
    p.update(3, 3, 0);
    vi.advanceTimersByTime(9_999);
    expect(lines).toEqual([]);
    vi.advanceTimersByTime(30_001); // 40 s, no update in between
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => l.startsWith('[ingest] 3 in, 3 out, 0 dropped'))).toBe(true);
    p.stop();
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(4);
  });

  it('stays silent within the interval and when quiet', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const slow = createProgress({ stage: 'x', total: null, quiet: false, tty: false, intervalMs: 60_000, write: (l) => lines.push(l) });
    slow.update(1, 1, 0);
    vi.advanceTimersByTime(59_000);
    slow.stop();
    const quiet = createProgress({ stage: 'x', total: null, quiet: true, tty: false, intervalMs: 10, write: (l) => lines.push(l) });
    quiet.update(1, 1, 0);
    vi.advanceTimersByTime(1_000);
    expect(lines).toEqual([]);
  });

  it('defaults to 10 s, as the README says; TRAJPIPE_PROGRESS_INTERVAL_MS overrides it', () => {
    expect(defaultIntervalMs({})).toBe(10_000);
    expect(defaultIntervalMs({ TRAJPIPE_PROGRESS_INTERVAL_MS: '250' })).toBe(250);
    expect(defaultIntervalMs({ TRAJPIPE_PROGRESS_INTERVAL_MS: 'soon' })).toBe(10_000);
  });
});

import { describe, expect, it } from 'vitest';
import { SegmentConfig } from '../../schemas/index.js';
import { analyseFailedCurve, classifyShape, findCriticalMistake, findPeak, risingSteps, smooth } from '../../src/stages/segment/curve.js';

const DEFAULTS = SegmentConfig.parse({});
const none = new Set<number>();
const analyse = (values: number[], opts: Partial<typeof DEFAULTS> = {}, submits: Set<number> = none) =>
  analyseFailedCurve(values, submits, { ...DEFAULTS, ...opts });

describe('curve analysis on constructed curves with known answers', () => {
  it('clean inverted U: peak at the top, mistake at the biggest fall after it, trains the rise', () => {
    const a = analyse([0.2, 0.4, 0.6, 0.8, 0.5, 0.3, 0.2]);
    expect(a.peak).toEqual({ step: 3, value: 0.8 });
    expect(a.critical.step).toBe(4);
    expect(a.critical.drop).toBeCloseTo(0.3, 12);
    expect(a.shape).toBe('inverted-u');
    expect(a.trainedSteps).toEqual([0, 1, 2, 3]);
    expect(a.unproductive).toBeNull();
    expect(a.note).toBeNull();
  });

  it('plateau at the peak: the first step at the maximum is the peak, so the plateau is not trained', () => {
    const a = analyse([0.2, 0.5, 0.7, 0.7, 0.7, 0.3]);
    expect(a.peak.step).toBe(2);
    expect(a.critical.step).toBe(5);
    expect(a.trainedSteps).toEqual([0, 1, 2]);
    expect(a.shape).toBe('inverted-u');
  });

  it('monotone rise: peak is the last step, no mistake after it, and the submitting turn is not trained', () => {
    const a = analyse([0.1, 0.2, 0.3, 0.5, 0.6], {}, new Set([4]));
    expect(a.peak.step).toBe(4);
    expect(a.critical).toEqual({ step: null, drop: null, largestFall: null, largestFallStep: null });
    expect(a.note).toBe('no clear mistake: the peak is the last step');
    expect(a.shape).toBe('rising');
    expect(a.trainedSteps).toEqual([0, 1, 2, 3]);
  });

  it('monotone fall: peak at step 0, the largest fall is the mistake, only the first turn is trained', () => {
    const a = analyse([0.9, 0.7, 0.5, 0.2]);
    expect(a.peak).toEqual({ step: 0, value: 0.9 });
    expect(a.critical.step).toBe(3);
    expect(a.shape).toBe('falling');
    expect(a.trainedSteps).toEqual([0]);
    expect(analyse([0.9, 0.7, 0.5, 0.2], { min_span_steps: 2 }).unproductive?.why).toBe('short-span');
  });

  it('two peaks: the higher one is the peak, and the dip between them is trained', () => {
    const a = analyse([0.2, 0.6, 0.3, 0.8, 0.1]);
    expect(a.shape).toBe('multi-peak');
    expect(a.peak.step).toBe(3);
    expect(a.critical.step).toBe(4);
    expect(a.trainedSteps).toEqual([0, 1, 2, 3]);
  });

  it('ties: equal maxima pick the first, equal falls pick the first', () => {
    const a = analyse([0.3, 0.7, 0.5, 0.7, 0.2]);
    expect(a.peak.step).toBe(1);
    expect(a.trainedSteps).toEqual([0, 1]);
    expect(a.critical.step).toBe(4); // falls after the peak: 0.2, -0.2, 0.5
    expect(a.shape).toBe('multi-peak');
    const b = analyse([0.2, 0.8, 0.3, 0.6, 0.1]); // falls after the peak: 0.5, -0.3, 0.5
    expect(b.peak.step).toBe(1);
    expect(b.critical.step).toBe(2);
  });

  it('one-step run: single-step shape; trained unless that step is the submission', () => {
    const a = analyse([0.6]);
    expect(a.shape).toBe('single-step');
    expect(a.peak).toEqual({ step: 0, value: 0.6 });
    expect(a.trainedSteps).toEqual([0]);
    expect(a.note).toBe('no clear mistake: the peak is the last step');
    const b = analyse([0.6], {}, new Set([0]));
    expect(b.trainedSteps).toEqual([]);
    expect(b.unproductive?.why).toBe('short-span');
  });

  it('all-zero values: flat, and never productive by default (peak below min_peak_value)', () => {
    const a = analyse([0, 0, 0, 0]);
    expect(a.shape).toBe('flat');
    expect(a.peak).toEqual({ step: 0, value: 0 });
    expect(a.unproductive?.why).toBe('low-peak');
    expect(a.unproductive?.message).toMatch(/peak value 0\.000 \(step 0\) is below min_peak_value 0\.100/);
    expect(a.critical.step).toBeNull();
    expect(a.note).toMatch(/^no clear mistake: largest fall 0\.000/);
  });

  it('a fall below min_drop is no clear mistake, recorded in the note; the run is still trained up to its peak', () => {
    const a = analyse([0.2, 0.5, 0.48, 0.47]);
    expect(a.peak.step).toBe(1);
    expect(a.critical.step).toBeNull();
    expect(a.critical.largestFall).toBeCloseTo(0.02, 12);
    expect(a.note).toBe('no clear mistake: largest fall 0.020 (step 2) < min_drop 0.050');
    expect(a.trainedSteps).toEqual([0, 1]);
    expect(analyse([0.2, 0.5, 0.48, 0.47], { min_drop: 0.01 }).critical.step).toBe(2);
  });

  it('a fall of exactly min_drop counts despite float noise', () => {
    expect(findCriticalMistake([0.35, 0.3], 0, 0.05).step).toBe(1); // 0.35 - 0.3 = 0.04999999999999999
  });

  it('strict mode trains only turns where the value rose (never the first, which has no previous value)', () => {
    const a = analyse([0.3, 0.5, 0.5, 0.7, 0.2], { strict: true });
    expect(a.trainedSteps).toEqual([1, 3]);
    expect(risingSteps([0.3, 0.5, 0.5, 0.7, 0.2], 4)).toEqual([1, 3]);
    expect(analyse([0.9, 0.7, 0.5], { strict: true }).unproductive?.why).toBe('short-span');
  });

  it('min_peak_value and min_span_steps drop unproductive runs', () => {
    expect(analyse([0.05, 0.08, 0.02], { min_peak_value: 0.1 }).unproductive?.why).toBe('low-peak');
    expect(analyse([0.05, 0.08, 0.02], { min_peak_value: 0.05 }).unproductive).toBeNull();
    expect(analyse([0.2, 0.6, 0.1], { min_span_steps: 3 }).unproductive?.message).toMatch(/only 2 agent turns up to its peak \(step 1\)/);
  });

  it('smoothing: a centred moving average that keeps the length; the peak is found on the smoothed curve', () => {
    const s = smooth([0, 0.3, 0.6, 0.3, 0], 3);
    expect(s.map((x) => Number(x.toFixed(6)))).toEqual([0.15, 0.3, 0.4, 0.3, 0.15]);
    // A one-step spike at step 1 beats the broad hump at 3..5 raw, but not once smoothed.
    const raw = [0.1, 0.9, 0.1, 0.6, 0.7, 0.6, 0.1];
    expect(analyse(raw).peak.step).toBe(1);
    const a = analyse(raw, { smoothing_window: 3 });
    expect(a.peak.step).toBe(4);
    expect(a.smoothed).toBe(true);
    expect(a.curve).toHaveLength(raw.length);
    expect(smooth(raw, 1)).toEqual(raw);
  });

  it('shapes ignore moves smaller than shape_tolerance', () => {
    expect(classifyShape([0.5, 0.52, 0.49, 0.51], 0.05)).toBe('flat');
    expect(classifyShape([0.1, 0.5, 0.9, 0.88], 0.05)).toBe('rising');
    expect(classifyShape([0.1, 0.5, 0.9, 0.88], 0.01)).toBe('inverted-u');
    expect(classifyShape([0.8, 0.3, 0.7], 0.05)).toBe('multi-peak'); // a valley peaks at both ends
    expect(classifyShape([0.3, 0.6, 0.6, 0.2], 0.05)).toBe('inverted-u');
  });

  it('findPeak refuses an empty curve rather than inventing one', () => {
    expect(() => findPeak([])).toThrow(/empty/);
  });
});

describe('segment config', () => {
  it('rejects an even smoothing window and unknown keys', () => {
    expect(SegmentConfig.safeParse({ smoothing_window: 2 }).success).toBe(false);
    expect(SegmentConfig.safeParse({ min_dorp: 0.1 }).success).toBe(false);
    expect(DEFAULTS).toMatchObject({ smoothing_window: 1, strict: false, keep_after_span: false, unknown_outcome: 'drop' });
  });
});

import type { CurveShape } from '../../../schemas/index.js';

// Pure analysis of one value curve (values[i] = hindsight P(success) after step i). No records, no I/O:
// everything here is tested on constructed curves with known answers (test/segment/curve.test.ts).

/** Values closer than this are equal: smoothing leaves float noise that must not invent a peak or a rise. */
export const EPS = 1e-9;

/** Centred moving average over an odd window, shrunk at the edges so the curve keeps its length. */
export function smooth(values: readonly number[], window: number): number[] {
  if (window <= 1) return [...values];
  const half = Math.floor(window / 2);
  return values.map((_, i) => {
    const lo = Math.max(0, i - half);
    const hi = Math.min(values.length - 1, i + half);
    let sum = 0;
    for (let j = lo; j <= hi; j++) sum += values[j]!;
    return sum / (hi - lo + 1);
  });
}

/** The first step at the maximum: on a plateau or a tie the earliest step wins, so the span never grows on no evidence. */
export function findPeak(curve: readonly number[]): { step: number; value: number } {
  if (curve.length === 0) throw new Error('findPeak: empty curve');
  const max = Math.max(...curve);
  const step = curve.findIndex((v) => v >= max - EPS);
  return { step, value: curve[step]! };
}

export interface CriticalMistake {
  /** The step after the peak where the value falls most; null when no fall reaches min_drop. */
  step: number | null;
  drop: number | null;
  /** Largest single-step fall after the peak (null when the peak is the last step). */
  largestFall: number | null;
  /** Step of that largest fall, even when it is too small to count. */
  largestFallStep: number | null;
}

/** The fall at step j is curve[j-1] - curve[j]; the critical mistake is the largest one after the peak (first on ties). */
export function findCriticalMistake(curve: readonly number[], peakStep: number, minDrop: number): CriticalMistake {
  let largestFall: number | null = null;
  let largestFallStep: number | null = null;
  for (let j = peakStep + 1; j < curve.length; j++) {
    const fall = curve[j - 1]! - curve[j]!;
    if (largestFall === null || fall > largestFall + EPS) {
      largestFall = fall;
      largestFallStep = j;
    }
  }
  const clear = largestFall !== null && largestFall > EPS && largestFall >= minDrop - EPS;
  return { step: clear ? largestFallStep : null, drop: clear ? largestFall : null, largestFall, largestFallStep };
}

/** Steps i in 1..upTo where the value rose over step i-1 (strict mode: the rising turns only). */
export function risingSteps(curve: readonly number[], upTo: number): number[] {
  const out: number[] = [];
  for (let i = 1; i <= upTo && i < curve.length; i++) if (curve[i]! > curve[i - 1]! + EPS) out.push(i);
  return out;
}

/**
 * Significant moves of the curve, as an alternating list of 'up' and 'down' (a zig-zag filter):
 * a move counts once the value has travelled at least `tolerance` from the last turning point.
 */
export function significantMoves(curve: readonly number[], tolerance: number): ('up' | 'down')[] {
  const moves: ('up' | 'down')[] = [];
  if (curve.length < 2) return moves;
  const big = (d: number) => (tolerance > 0 ? d >= tolerance - EPS : d > EPS);
  let dir: 'up' | 'down' | null = null;
  let lo = curve[0]!;
  let hi = curve[0]!;
  let extreme = curve[0]!;
  for (const x of curve.slice(1)) {
    if (dir === null) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
      if (big(x - lo)) (dir = 'up'), (extreme = x);
      else if (big(hi - x)) (dir = 'down'), (extreme = x);
    } else if (dir === 'up') {
      if (x > extreme) extreme = x;
      else if (big(extreme - x)) moves.push('up'), (dir = 'down'), (extreme = x);
    } else {
      if (x < extreme) extreme = x;
      else if (big(x - extreme)) moves.push('down'), (dir = 'up'), (extreme = x);
    }
  }
  if (dir !== null) moves.push(dir);
  return moves;
}

/**
 * Shape from the significant moves. A peak is an up followed by a down, plus the first point when the
 * curve starts by falling and the last when it ends rising. One interior peak is the inverted U the
 * Orchard authors report; a valley (down then up) has two peaks, at its ends.
 */
export function classifyShape(curve: readonly number[], tolerance: number): CurveShape {
  if (curve.length === 1) return 'single-step';
  const moves = significantMoves(curve, tolerance);
  if (moves.length === 0) return 'flat';
  if (moves.length === 1) return moves[0] === 'up' ? 'rising' : 'falling';
  let peaks = 0;
  if (moves[0] === 'down') peaks++;
  if (moves[moves.length - 1] === 'up') peaks++;
  for (let i = 1; i < moves.length; i++) if (moves[i - 1] === 'up' && moves[i] === 'down') peaks++;
  return peaks === 1 ? 'inverted-u' : 'multi-peak';
}

export interface SpanOptions {
  smoothing_window: number;
  min_drop: number;
  min_peak_value: number;
  min_span_steps: number;
  strict: boolean;
  shape_tolerance: number;
}

export interface CurveAnalysis {
  /** The curve the decisions were made on (smoothed when the window is above 1). */
  curve: number[];
  smoothed: boolean;
  shape: CurveShape;
  peak: { step: number; value: number };
  critical: CriticalMistake;
  /** Trained step indices, ascending: 0..peak, minus submitting steps, minus non-rising steps in strict mode. */
  trainedSteps: number[];
  /** Why nothing of the run may be trained, or null. */
  unproductive: { why: 'low-peak' | 'short-span'; message: string } | null;
  note: string | null;
}

const fmt = (x: number) => x.toFixed(3);

/** The whole decision for one failed run: where its peak is, what it trains, and whether it is worth keeping. */
export function analyseFailedCurve(values: readonly number[], submitSteps: ReadonlySet<number>, opts: SpanOptions): CurveAnalysis {
  if (values.length === 0) throw new Error('analyseFailedCurve: empty curve');
  const curve = smooth(values, opts.smoothing_window);
  const peak = findPeak(curve);
  const critical = findCriticalMistake(curve, peak.step, opts.min_drop);
  const shape = classifyShape(curve, opts.shape_tolerance);

  const candidates = opts.strict ? risingSteps(curve, peak.step) : Array.from({ length: peak.step + 1 }, (_, i) => i);
  const trainedSteps = candidates.filter((i) => !submitSteps.has(i));

  let unproductive: CurveAnalysis['unproductive'] = null;
  if (peak.value < opts.min_peak_value - EPS) {
    unproductive = { why: 'low-peak', message: `its peak value ${fmt(peak.value)} (step ${peak.step}) is below min_peak_value ${fmt(opts.min_peak_value)}` };
  } else if (trainedSteps.length < opts.min_span_steps || trainedSteps.length === 0) {
    const what = opts.strict ? 'rising agent turns' : 'agent turns';
    unproductive = {
      why: 'short-span',
      message: `only ${trainedSteps.length} ${what} up to its peak (step ${peak.step}) can be trained, fewer than min_span_steps ${opts.min_span_steps}`,
    };
  }

  let note: string | null = null;
  if (critical.step === null) {
    note =
      critical.largestFall === null
        ? `no clear mistake: the peak is the last step`
        : `no clear mistake: largest fall ${fmt(critical.largestFall)} (step ${critical.largestFallStep}) < min_drop ${fmt(opts.min_drop)}`;
  }
  return { curve, smoothed: opts.smoothing_window > 1, shape, peak, critical, trainedSteps, unproductive, note };
}

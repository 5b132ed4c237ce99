import type { CurveShape } from '../../../schemas/index.js';
import { EPS, classifyShape, findPeak, risingSteps, smooth } from '../../core/curve.js';

export { EPS, classifyShape, findPeak, risingSteps, significantMoves, smooth } from '../../core/curve.js';

// Pure analysis of one value curve (values[i] = hindsight P(success) after step i). No records, no I/O:
// everything here is tested on constructed curves with known answers (test/segment/curve.test.ts).

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

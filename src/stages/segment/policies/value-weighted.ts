import type { PipelineRecord, SegmentConfig } from '../../../../schemas/index.js';
import { EPS, smooth } from '../curve.js';
import { whoIs, type SegmentDecision } from '../decide.js';
import { commonDrop, curveOf, drop, failedWord, mismatch, shapeOf, submitSteps, trainSteps, wholeRun } from './common.js';

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Per-step weights from the value increments c_t = V(s_t+1) - V(s_t), clipped to [0, 1]. values[t] is
 * the value after step t, so c_t = values[t] - values[t-1], with V before the first step taken as 0
 * (nothing is done yet: the first step earns what it reached). The last step uses values[last] like any
 * other (the outcome is not substituted: a failed run's submission is weighted 0 anyway). Submitting
 * steps of failed runs get 0. Weights are rounded to 6 decimals so a float residue never trains a step.
 */
export function valueWeights(curve: readonly number[], submits: ReadonlySet<number>): number[] {
  return curve.map((v, t) => {
    if (submits.has(t)) return 0;
    const c = v - (t === 0 ? 0 : curve[t - 1]!);
    return c > EPS ? round6(Math.min(1, c)) : 0;
  });
}

/**
 * value-weighted: a failed run trains the steps that raised its value, each weighted by how much
 * (`messages[].weight`), for trainers that take per-message weights; loss is true exactly where the weight
 * is above 0, so a trainer that ignores weights trains the same turns unweighted. Resolved runs are
 * trained whole with weight 1. A failed run whose curve never falls is suspicious, as for rising-segment.
 */
export function decideValueWeighted(record: PipelineRecord, cfg: SegmentConfig): SegmentDecision {
  const gate = commonDrop(record, cfg);
  if (gate) return gate;
  if (record.outcome.resolved === true) return wholeRun(record, 'value-weighted', true);
  const who = whoIs(record);
  const bad = mismatch(record, 'values');
  if (bad) return bad;
  const values = curveOf(record);
  if (!values) {
    return drop('unlabelled-failed-run', `${who} ${failedWord(record)} and has no value curve from the label stage, so no step can be weighted.`);
  }
  const shape = shapeOf(record, cfg);
  if (record.outcome.resolved === false && (shape === 'rising' || shape === 'flat') && cfg.suspicious_curves === 'drop') {
    return {
      ...drop('suspicious-curve', `${who} failed, yet its value curve ${shape === 'flat' ? 'never moves' : 'never falls'} (${shape}); it is not weighted (segment.suspicious_curves: keep trains it).`, {
        shape,
        labeler: record.values?.labeler ?? null,
      }),
      shape,
    };
  }
  const curve = smooth(values, cfg.smoothing_window);
  const weights = valueWeights(curve, submitSteps(record));
  const trained = weights.flatMap((w, i) => (w > 0 ? [i] : []));
  if (trained.length === 0) {
    return { ...drop('no-positive-increment', `${who} ${failedWord(record)} and no step before its submission raised its value.`), shape };
  }
  // Steps after the last trained one are cut (unless keep_after_span), so their weights go with them.
  return trainSteps(record, cfg, 'value-weighted', trained, { weights, smoothed: cfg.smoothing_window > 1 ? curve : null });
}

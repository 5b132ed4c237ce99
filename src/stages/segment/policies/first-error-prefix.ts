import type { PipelineRecord, SegmentConfig } from '../../../../schemas/index.js';
import { EPS, smooth } from '../curve.js';
import { whoIs, type SegmentDecision } from '../decide.js';
import { commonDrop, curveOf, drop, failedWord, mismatch, submitSteps, trainSteps, verdictsOf, wholeRun } from './common.js';

/**
 * The first step the labels mark as an error: the first step judged incorrect when the run has verdicts;
 * otherwise the first step j >= 1 whose value falls by at least min_drop from step j-1 (on the smoothed
 * curve when smoothing is on). Step 0 has no previous value, so a curve never marks it. null: no error.
 */
export function firstError(record: PipelineRecord, cfg: SegmentConfig): { step: number | null; from: 'verdicts' | 'values' } | null {
  const verdicts = verdictsOf(record);
  if (verdicts) {
    const i = verdicts.indexOf(false);
    return { step: i === -1 ? null : i, from: 'verdicts' };
  }
  const values = curveOf(record);
  if (!values) return null;
  const curve = smooth(values, cfg.smoothing_window);
  for (let j = 1; j < curve.length; j++) if (curve[j - 1]! - curve[j]! >= cfg.min_drop - EPS && curve[j - 1]! - curve[j]! > EPS) return { step: j, from: 'values' };
  return { step: null, from: 'values' };
}

/**
 * Prefix SFT (as in InT, arXiv 2601.14209): a failed run is trained on its steps before the first error
 * the labels mark, never on the error or anything after it, never on its submission. Resolved runs are
 * trained whole. A failed run whose labels mark no error is dropped (a failed run is never trained whole).
 */
export function decideFirstErrorPrefix(record: PipelineRecord, cfg: SegmentConfig): SegmentDecision {
  const gate = commonDrop(record, cfg);
  if (gate) return gate;
  if (record.outcome.resolved === true) return wholeRun(record, 'first-error-prefix');
  const who = whoIs(record);
  const bad = verdictsOf(record) ? null : (mismatch(record, 'verdicts') ?? mismatch(record, 'values'));
  if (bad) return bad;
  const err = firstError(record, cfg);
  if (!err) {
    return drop(
      'unlabelled-failed-run',
      `${who} ${failedWord(record)} and has neither verdicts nor a value curve from the label stage, so no first error can be found.`,
    );
  }
  if (err.step === null) {
    const how = err.from === 'verdicts' ? 'no step was judged incorrect' : `no step's value falls by min_drop ${cfg.min_drop.toFixed(3)} or more`;
    return drop('no-first-error', `${who} ${failedWord(record)}, yet ${how}; without a first error there is no prefix to train, and a failed run is never trained whole.`, {
      from: err.from,
    });
  }
  const submits = submitSteps(record);
  const trained = Array.from({ length: err.step }, (_, i) => i).filter((i) => !submits.has(i));
  if (trained.length === 0) {
    return drop('empty-prefix', `${who} ${failedWord(record)} and its first error is step ${err.step}, so no step before it can be trained.`, {
      first_error_step: err.step,
      from: err.from,
    });
  }
  return trainSteps(record, cfg, 'first-error-prefix', trained, {
    critical_step: err.step,
    note: `first error: step ${err.step} (from ${err.from})`,
  });
}

import type { PipelineRecord, SegmentConfig } from '../../../../schemas/index.js';
import { whoIs, type SegmentDecision } from '../decide.js';
import { commonDrop, drop, failedWord, mismatch, submitSteps, trainSteps, verdictsOf, wholeRun } from './common.js';

/**
 * Step Rejection Fine-Tuning (arXiv 2605.10674): a teacher judged each step of a failed run correct or
 * incorrect (`values.verdicts`); the correct steps are trained, the incorrect ones stay in the context
 * untrained, so the model still sees what happened. Resolved runs are trained whole; a failed run's
 * submission never. A failed run without verdicts cannot be judged this way and is dropped.
 */
export function decideStepRejection(record: PipelineRecord, cfg: SegmentConfig): SegmentDecision {
  const gate = commonDrop(record, cfg);
  if (gate) return gate;
  if (record.outcome.resolved === true) return wholeRun(record, 'step-rejection');
  const who = whoIs(record);
  const bad = mismatch(record, 'verdicts');
  if (bad) return bad;
  const verdicts = verdictsOf(record);
  if (!verdicts) {
    return drop(
      'no-step-verdicts',
      `${who} ${failedWord(record)} and has no per-step verdicts from the label stage, so step-rejection cannot tell its correct steps from its incorrect ones.`,
    );
  }
  const submits = submitSteps(record);
  const trained = verdicts.flatMap((ok, i) => (ok && !submits.has(i) ? [i] : []));
  if (trained.length === 0) {
    return drop('no-correct-step', `${who} ${failedWord(record)} and no step of it before its submission was judged correct.`, {
      incorrect: verdicts.filter((v) => !v).length,
    });
  }
  const rejected = verdicts.filter((v) => !v).length;
  return trainSteps(record, cfg, 'step-rejection', trained, {
    note: rejected ? `${rejected} step(s) judged incorrect: kept in the context, not trained` : null,
  });
}

import type { PipelineRecord, SegmentConfig } from '../../../../schemas/index.js';
import { spanOf, whoIs, type SegmentDecision } from '../decide.js';
import { commonDrop, drop, failedWord, isErrorStep, submitSteps, trainSteps } from './common.js';

/**
 * Error masking (SWE-Lego, arXiv 2601.01426): in any run, resolved or not, the turns whose action the
 * environment answered with an error (isErrorStep: ingest's step flags) are not trained; every other turn
 * is. A failed run's submission is never trained; a resolved run keeps every message. No teacher needed.
 */
export function decideErrorMasking(record: PipelineRecord, cfg: SegmentConfig): SegmentDecision {
  const gate = commonDrop(record, cfg);
  if (gate) return gate;
  const resolved = record.outcome.resolved === true;
  const submits = resolved ? new Set<number>() : submitSteps(record);
  const errors = record.steps.filter(isErrorStep).map((s) => s.index);
  const errorSet = new Set(errors);
  const trained = record.steps.map((s) => s.index).filter((i) => !errorSet.has(i) && !submits.has(i));
  if (trained.length === 0) {
    const what = resolved ? 'resolved its task' : failedWord(record);
    return drop('all-turns-errors', `${whoIs(record)} ${what}, but every agent turn ${resolved ? '' : 'before its submission '}was answered with an error, so none is trained.`, {
      error_steps: errors.length,
    });
  }
  const note = errors.length ? `${errors.length} turn(s) answered with an error: not trained` : null;
  const d = trainSteps(record, cfg, 'error-masking', trained, { note });
  // A resolved run keeps every message (its submission and what led to it), as rising-segment keeps it.
  if (resolved && d.kind === 'train') d.segment = { ...d.segment, ...spanOf(record, trained), cut_after: null, shape: null };
  return d;
}

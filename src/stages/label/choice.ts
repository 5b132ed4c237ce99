import type { PipelineConfig, PipelineRecord } from '../../../schemas/index.js';
import { chosenForCalibration } from './quality.js';

// Which runs label gives a curve to (shared by the teacher path and the offline labeller, src/stages/label/offline.ts).

/** The step-rejection policy trains from per-step verdicts, so label asks for them (segment.policies). */
export function wantsVerdicts(config: Pick<PipelineConfig, 'segment'>): boolean {
  return config.segment.policies.includes('step-rejection');
}

/** A resolved run labelled too, to see its final value against the known outcome (label.calibration). */
export function calibrates(record: Pick<PipelineRecord, 'outcome' | 'id'>, config: Pick<PipelineConfig, 'label'>): boolean {
  return record.outcome.resolved === true && chosenForCalibration(record.id, config.label.calibration.resolved_share);
}

/** Segment cuts unknown-outcome runs like failed ones only with a curve, so label must give them one. */
export function labelsUnknownOutcome(config: Pick<PipelineConfig, 'segment'>): boolean {
  return config.segment.unknown_outcome === 'as-failed';
}

/** Whether a run gets a value curve: failed runs, and unknown-outcome runs when segment will cut them. */
export function wantsCurve(record: Pick<PipelineRecord, 'outcome'>, config: Pick<PipelineConfig, 'segment'>): boolean {
  return record.outcome.resolved === false || (record.outcome.resolved === null && labelsUnknownOutcome(config));
}


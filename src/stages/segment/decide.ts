import type { CurveShape, PipelineRecord, Segment, SegmentConfig } from '../../../schemas/index.js';
import { analyseFailedCurve } from './curve.js';

export type SegmentDecision =
  | { kind: 'train'; segment: Segment; outcome: 'resolved' | 'failed' | 'unknown'; shape: CurveShape | null; noClearMistake: boolean; suspicious?: boolean }
  | { kind: 'drop'; reason: string; message: string; details?: Record<string, unknown>; shape: CurveShape | null };

export function spanOf(record: PipelineRecord, trainedSteps: number[]): { train_start: number; train_end: number } {
  const indices = trainedSteps.map((s) => record.steps[s]!.message_index);
  return { train_start: Math.min(...indices), train_end: Math.max(...indices) };
}

/**
 * What one record trains. Resolved runs: every agent turn. Failed runs (and unknown ones with
 * unknown_outcome: as-failed): the turns up to the peak of their value curve. A failed run is never
 * trained whole: without a curve it is dropped.
 */
/** How every message about a run starts: the run, its task, and where it came from. */
export const whoIs = (record: PipelineRecord) => `Run ${record.id} (task ${record.task_id}, ${record.source.file} record ${record.source.record})`;

/** A resolved run's segment: every agent turn trained, no curve, every message kept (shared by every policy). */
export function wholeRunSegment(record: PipelineRecord): Segment {
  const all = record.steps.map((s) => s.index);
  return {
    ...spanOf(record, all),
    trained_steps: all,
    peak_step: null,
    peak_value: null,
    critical_step: null,
    critical_drop: null,
    shape: null,
    smoothed: null,
    note: null,
    cut_after: null,
  };
}

export function decideSegment(record: PipelineRecord, cfg: SegmentConfig): SegmentDecision {
  const who = whoIs(record);
  const resolved = record.outcome.resolved;
  if (record.steps.length === 0) {
    return { kind: 'drop', reason: 'no-agent-turns', message: `${who} has no agent turn to train.`, shape: null };
  }
  if (resolved === true) {
    return { kind: 'train', segment: wholeRunSegment(record), outcome: 'resolved', shape: null, noClearMistake: false };
  }
  if (!cfg.enabled) {
    return {
      kind: 'drop',
      reason: 'segment-disabled',
      message: `${who} did not resolve its task and segment.enabled is false, so none of its turns can be trained.`,
      shape: null,
    };
  }
  if (resolved === null && cfg.unknown_outcome === 'drop') {
    return {
      kind: 'drop',
      reason: 'unknown-outcome',
      message: `${who} has no known outcome; it is neither trained whole nor cut (set segment.unknown_outcome: as-failed to cut it like a failed run).`,
      shape: null,
    };
  }
  const values = record.values?.values;
  if (!values) {
    const what = resolved === null ? 'has no known outcome' : 'did not resolve its task';
    return {
      kind: 'drop',
      reason: 'unlabelled-failed-run',
      message: `${who} ${what} and has no value curve from the label stage, so no turn of it can be chosen for training.`,
      shape: null,
    };
  }
  if (values.length !== record.steps.length) {
    return {
      kind: 'drop',
      reason: 'values-steps-mismatch',
      message: `${who} has ${values.length} step values for ${record.steps.length} agent turns.`,
      details: { values: values.length, steps: record.steps.length },
      shape: null,
    };
  }

  const submits = new Set(record.steps.filter((s) => s.flags.submit).map((s) => s.index));
  const a = analyseFailedCurve(values, submits, cfg);
  if (a.unproductive) {
    return {
      kind: 'drop',
      reason: 'no-productive-prefix',
      message: `${who} ${resolved === null ? 'has no known outcome (cut like a failed run)' : 'failed'} and ${a.unproductive.message}.`,
      details: { why: a.unproductive.why, shape: a.shape, peak_step: a.peak.step, peak_value: a.peak.value, trained_steps: a.trainedSteps.length },
      shape: a.shape,
    };
  }
  // A run that failed (not one of unknown outcome), yet whose success estimate never falls, was not judged on what happened: the
  // labeler was steered (an instruction planted in the run) or is broken. Never trained silently.
  // Label flags a curve that does what an instruction planted in the run asked (src/stages/label/anomalies.ts).
  const echoes = resolved === false && (record.values?.flags ?? []).includes('echoes-planted-instruction');
  const suspicious = resolved === false && (a.shape === 'rising' || a.shape === 'flat' || echoes);
  const oddity = a.shape === 'flat' ? 'never moves' : a.shape === 'rising' ? 'never falls' : 'does what an instruction planted in the run asked';
  if (suspicious && cfg.suspicious_curves === 'drop') {
    return {
      kind: 'drop',
      reason: 'suspicious-curve',
      message: `${who} ${resolved === null ? 'has no known outcome (cut like a failed run)' : 'failed'}, yet its value curve ${oddity} (${a.shape}, from ${values[0]!.toFixed(3)} to ${values[values.length - 1]!.toFixed(3)}); a labeler steered by text in the run gives such curves, so it is not trained (segment.suspicious_curves: keep trains it, flagged).`,
      details: { shape: a.shape, labeler: record.values?.labeler ?? null, first: values[0], last: values[values.length - 1], ...(echoes ? { echoes_planted_instruction: true } : {}) },
      shape: a.shape,
    };
  }
  const span = spanOf(record, a.trainedSteps);
  const segment: Segment = {
    ...span,
    trained_steps: a.trainedSteps,
    peak_step: a.peak.step,
    peak_value: a.peak.value,
    critical_step: a.critical.step,
    critical_drop: a.critical.drop,
    shape: a.shape,
    smoothed: a.smoothed ? a.curve : null,
    note: suspicious ? [`suspicious: the curve of a failed run ${oddity}`, a.note].filter(Boolean).join('; ') : a.note,
    cut_after: cfg.keep_after_span ? null : span.train_end,
  };
  return { kind: 'train', segment, outcome: resolved === null ? 'unknown' : 'failed', shape: a.shape, noClearMistake: a.critical.step === null, suspicious };
}

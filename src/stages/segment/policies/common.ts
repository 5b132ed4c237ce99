import type { PipelineRecord, Segment, SegmentConfig, SegmentPolicy, Step } from '../../../../schemas/index.js';
import { classifyShape, smooth } from '../curve.js';
import { spanOf, wholeRunSegment, whoIs, type SegmentDecision } from '../decide.js';

// What every policy shares: the checks that come before any policy (no turns, segment disabled, unknown
// outcome), resolved runs trained whole, and turning a set of trained steps into a Segment.

export type Drop = Extract<SegmentDecision, { kind: 'drop' }>;

export const drop = (reason: string, message: string, details?: Record<string, unknown>): Drop => ({
  kind: 'drop',
  reason,
  message,
  shape: null,
  ...(details ? { details } : {}),
});

/** The same gates as rising-segment's, in the same order and with the same reasons, so policies compare on the same runs. */
export function commonDrop(record: PipelineRecord, cfg: SegmentConfig): Drop | null {
  const who = whoIs(record);
  if (record.steps.length === 0) return drop('no-agent-turns', `${who} has no agent turn to train.`);
  if (record.outcome.resolved === true) return null;
  if (!cfg.enabled) {
    return drop('segment-disabled', `${who} did not resolve its task and segment.enabled is false, so none of its turns can be trained.`);
  }
  if (record.outcome.resolved === null && cfg.unknown_outcome === 'drop') {
    return drop(
      'unknown-outcome',
      `${who} has no known outcome; it is neither trained whole nor cut (set segment.unknown_outcome: as-failed to cut it like a failed run).`,
    );
  }
  return null;
}

/** "failed" or "has no known outcome (cut like a failed run)", for messages. */
export const failedWord = (record: PipelineRecord) => (record.outcome.resolved === null ? 'has no known outcome (cut like a failed run)' : 'failed');

export const outcomeOf = (record: PipelineRecord): 'resolved' | 'failed' | 'unknown' =>
  record.outcome.resolved === true ? 'resolved' : record.outcome.resolved === false ? 'failed' : 'unknown';

/** The value curve when it has one value per step, else null (a policy that needs it says why it drops). */
export function curveOf(record: PipelineRecord): number[] | null {
  const v = record.values?.values;
  return v && v.length === record.steps.length ? v : null;
}

/** The label stage's per-step verdicts when there is one per step, else null. */
export function verdictsOf(record: PipelineRecord): boolean[] | null {
  const v = record.values?.verdicts;
  return v && v.length === record.steps.length ? v : null;
}

/** A run's values or verdicts that do not match its steps: the same reason rising-segment gives. */
export function mismatch(record: PipelineRecord, what: 'values' | 'verdicts'): Drop | null {
  const list = what === 'values' ? record.values?.values : record.values?.verdicts;
  if (!list || list.length === record.steps.length) return null;
  return drop(
    `${what}-steps-mismatch`,
    `${whoIs(record)} has ${list.length} step ${what} for ${record.steps.length} agent turns.`,
    { [what]: list.length, steps: record.steps.length },
  );
}

export const submitSteps = (record: PipelineRecord) => new Set(record.steps.filter((s) => s.flags.submit).map((s) => s.index));

/**
 * The environment answered the step's action with an error: a malformed action (format_error), the
 * harness's error or special exit (harness_error), a command that timed out, or a command the harness
 * reports as failed (runtime_error). All from ingest's step flags, no teacher.
 */
export function isErrorStep(step: Step): boolean {
  const f = step.flags;
  return f.format_error || f.harness_error || f.timeout || f.runtime_error === true;
}

/** The curve's shape when the run has a curve (for the curve_shape column and the card), else null. */
export function shapeOf(record: PipelineRecord, cfg: SegmentConfig): Segment['shape'] {
  const v = curveOf(record);
  return v ? classifyShape(smooth(v, cfg.smoothing_window), cfg.shape_tolerance) : null;
}

/** A resolved run: every agent turn, messages kept whole (weights 1 when the policy weights). */
export function wholeRun(record: PipelineRecord, policy: SegmentPolicy, weighted = false): SegmentDecision {
  const segment: Segment = { ...wholeRunSegment(record), policy, ...(weighted ? { weights: record.steps.map(() => 1) } : {}) };
  return { kind: 'train', segment, outcome: 'resolved', shape: null, noClearMistake: false };
}

/** A failed (or unknown, as-failed) run trained on `trainedSteps` (non-empty, ascending), cut after the last unless keep_after_span. */
export function trainSteps(
  record: PipelineRecord,
  cfg: SegmentConfig,
  policy: SegmentPolicy,
  trainedSteps: number[],
  extra: Partial<Segment> = {},
): SegmentDecision {
  const span = spanOf(record, trainedSteps);
  const shape = shapeOf(record, cfg);
  const segment: Segment = {
    ...span,
    trained_steps: trainedSteps,
    peak_step: null,
    peak_value: null,
    critical_step: null,
    critical_drop: null,
    shape,
    smoothed: null,
    note: null,
    cut_after: cfg.keep_after_span ? null : span.train_end,
    policy,
    ...extra,
  };
  return { kind: 'train', segment, outcome: outcomeOf(record), shape, noClearMistake: false };
}

import type { PipelineConfig, PipelineRecord, StepValues } from '../../../schemas/index.js';
import type { LabelResult } from '../../teacher/labeler.js';
import { heuristicValues } from './heuristic.js';
import { anomalyFlags } from './anomalies.js';
import { samplesRankCorrelation } from './quality.js';
import { calibrates, wantsCurve, wantsVerdicts } from './choice.js';

/** What label does with one run. */
export interface OfflineItem {
  /** null: passed on unlabelled (resolved, or no outcome label). */
  result: LabelResult | null;
  passReason?: 'resolved' | 'no-outcome-label' | 'label-disabled';
  /** A resolved run's values for calibration only (passed on unlabelled), or why it has none. */
  calibration?: { values: number[] } | { rejected: string };
  /** What label adds when it passes the run on (its values, null for none), or null: it rejects the run. */
  then?: { values: StepValues | null } | null;
}

/** The fields label passes a run on with, after its result (null: rejected). */
export function addedBy(result: LabelResult | null): { values: StepValues | null } | null {
  if (result === null) return { values: null };
  return result.kind === 'labelled' ? { values: result.values } : null;
}

export interface OfflineInput {
  config: Pick<PipelineConfig, 'label' | 'segment'>;
}

/** The heuristic's values of one run, with the anomaly flags (the teacher path adds the same). */
export function offlineValues(record: PipelineRecord, verdicts: boolean): LabelResult {
  const v = heuristicValues(record, { verdicts });
  const extra: Partial<StepValues> = {};
  if (v.samples) extra.samples_rank_correlation = samplesRankCorrelation(v.samples);
  return { kind: 'labelled', values: { ...v, ...extra, flags: [...v.flags, ...anomalyFlags(record, v.values)] } };
}

/**
 * Label without a teacher (the record function 'label.offline', run where the record is parsed): which runs
 * get a curve, the heuristic's curve, the calibration of a chosen resolved run. A pure function of the run.
 */
export function labelOffline(record: PipelineRecord, input: OfflineInput): OfflineItem {
  const item = offlineItem(record, input);
  return { ...item, then: addedBy(item.result) };
}

function offlineItem(record: PipelineRecord, input: OfflineInput): OfflineItem {
  const { config } = input;
  if (!config.label.enabled) return { result: null, passReason: 'label-disabled' };
  if (calibrates(record, config) && record.steps.length > 0) {
    // Labelled to measure, passed on unlabelled: the run is trained whole exactly as before.
    const r = offlineValues(record, false);
    return { result: null, passReason: 'resolved', calibration: r.kind === 'labelled' ? { values: r.values.values } : { rejected: r.reason } };
  }
  if (!wantsCurve(record, config)) return { result: null, passReason: record.outcome.resolved ? 'resolved' : 'no-outcome-label' };
  if (record.steps.length === 0) {
    const what = record.outcome.resolved === null ? 'the run (outcome unknown, labelled because segment.unknown_outcome is as-failed)' : 'the failed run';
    return { result: { kind: 'rejected', reason: 'no-steps', message: `${what} has no agent step to label` } };
  }
  return { result: offlineValues(record, wantsVerdicts(config)) };
}

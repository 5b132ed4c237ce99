import type { PipelineRecord, SegmentConfig, StepValues, TeacherAgreement } from '../../../schemas/index.js';
import { findPeak, risingSteps, smooth, spearman } from '../../core/curve.js';
import { sha256 } from '../../core/hash.js';
import { peakIndex } from '../../teacher/samples.js';
import { ANOMALY_FLAGS } from './anomalies.js';

// How far the labels can be trusted: agreement (K samples, two teachers), anomalies and calibration, per run
// (in StepValues) and summed up for label's manifest (stats.quality), which the card and the report show.

/** The steps the rising-segment rule trains on this curve: 0..peak of the curve smoothed as segment does (rising ones only in strict mode), minus submits. */
export function risingSpan(values: readonly number[], submits: ReadonlySet<number>, cfg: Pick<SegmentConfig, 'smoothing_window' | 'strict'>): number[] {
  const curve = smooth(values, cfg.smoothing_window);
  const peak = findPeak(curve).step;
  const steps = cfg.strict ? risingSteps(curve, peak) : Array.from({ length: peak + 1 }, (_, i) => i);
  return steps.filter((s) => !submits.has(s));
}

/** The second teacher's curve beside the first's. */
export function compareTeachers(
  record: Pick<PipelineRecord, 'steps'>,
  first: readonly number[],
  second: readonly number[] | null,
  model: string,
  cfg: Pick<SegmentConfig, 'smoothing_window' | 'strict'>,
): TeacherAgreement {
  if (!second) return { model, values: null, peak_distance: null, rank_correlation: null, span_changes: null };
  const submits = new Set(record.steps.filter((s) => s.flags.submit).map((s) => s.index));
  const a = risingSpan(first, submits, cfg);
  const b = risingSpan(second, submits, cfg);
  const rho = spearman(first, second);
  return {
    model,
    values: [...second],
    peak_distance: Math.abs(peakIndex(first) - peakIndex(second)),
    rank_correlation: rho === null ? null : round(rho),
    span_changes: a.length !== b.length || a.some((s, i) => s !== b[i]),
  };
}

/** Mean Spearman correlation over pairs of samples; null for one sample or when no pair has one. */
export function samplesRankCorrelation(samples: readonly (readonly number[])[] | null): number | null {
  if (!samples || samples.length < 2) return null;
  const rhos: number[] = [];
  for (let i = 0; i < samples.length; i++) for (let j = i + 1; j < samples.length; j++) {
    const r = spearman(samples[i]!, samples[j]!);
    if (r !== null) rhos.push(r);
  }
  return rhos.length ? round(mean(rhos)) : null;
}

/** Deterministic choice of the resolved runs labelled for calibration: a hash of the run id below the share. */
export function chosenForCalibration(id: string, share: number): boolean {
  if (share <= 0) return false;
  return parseInt(sha256(`calibration:${id}`).slice(0, 8), 16) / 2 ** 32 < share;
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanOrNull = (xs: readonly number[]) => (xs.length ? round(mean(xs)) : null);
const share = (n: number, d: number) => (d ? round(n / d) : null);

/** Bins of the reliability table: final value in [0, 0.2), ..., [0.8, 1]. */
const BINS = [0, 0.2, 0.4, 0.6, 0.8];

/** What the stage adds up while it labels; toJSON is stats.quality of the manifest. */
export class LabelQuality {
  private readonly sampleRuns = { runs: 0, disagree: 0, spreads: [] as number[], peakDisagreements: [] as number[], rhos: [] as number[] };
  private readonly second = { model: null as string | null, runs: 0, answered: 0, peakDistances: [] as number[], rhos: [] as number[], spanChanged: 0 };
  private readonly verdicts = { runs: 0, steps: 0, incorrect: 0 };
  private readonly anomalies: Record<string, number> = Object.fromEntries(ANOMALY_FLAGS.map((f) => [f, 0]));
  private readonly finals: Record<'failed' | 'resolved' | 'unknown', number[]> = { failed: [], resolved: [], unknown: [] };

  /** A run labelled for training (failed, or unknown as failed). */
  add(record: Pick<PipelineRecord, 'outcome'>, v: StepValues): void {
    if (v.samples && v.samples.length > 1) {
      this.sampleRuns.runs++;
      if (v.flags.includes('samples-disagree')) this.sampleRuns.disagree++;
      if (v.spread?.length) this.sampleRuns.spreads.push(mean(v.spread));
      if (v.peak_disagreement !== null) this.sampleRuns.peakDisagreements.push(v.peak_disagreement);
      if (v.samples_rank_correlation != null) this.sampleRuns.rhos.push(v.samples_rank_correlation);
    }
    if (v.agreement) {
      this.second.model ??= v.agreement.model;
      this.second.runs++;
      if (v.agreement.values) {
        this.second.answered++;
        this.second.peakDistances.push(v.agreement.peak_distance!);
        if (v.agreement.rank_correlation !== null) this.second.rhos.push(v.agreement.rank_correlation);
        if (v.agreement.span_changes) this.second.spanChanged++;
      }
    }
    if (v.verdicts) {
      this.verdicts.runs++;
      this.verdicts.steps += v.verdicts.length;
      this.verdicts.incorrect += v.verdicts.filter((x) => !x).length;
    }
    for (const f of v.flags) if (f in this.anomalies) this.anomalies[f]!++;
    this.addFinal(record, v.values);
  }

  /** A resolved run labelled only to calibrate (its values are not passed on). */
  addFinal(record: Pick<PipelineRecord, 'outcome'>, values: readonly number[]): void {
    const o = record.outcome.resolved === true ? 'resolved' : record.outcome.resolved === false ? 'failed' : 'unknown';
    if (values.length) this.finals[o].push(values[values.length - 1]!);
  }

  toJSON(): Record<string, unknown> {
    const s = this.sampleRuns;
    const t = this.second;
    const byOutcome = Object.fromEntries(
      Object.entries(this.finals)
        .filter(([, xs]) => xs.length)
        .map(([o, xs]) => [o, { runs: xs.length, mean_final_value: meanOrNull(xs), share_final_above_half: share(xs.filter((x) => x > 0.5).length, xs.length) }]),
    );
    const known = [...this.finals.failed.map((x) => [x, 0] as const), ...this.finals.resolved.map((x) => [x, 1] as const)];
    const reliability = BINS.map((lo, i) => {
      const hi = BINS[i + 1] ?? 1.0000001;
      const inBin = known.filter(([x]) => x >= lo && x < hi);
      return {
        bin: `${lo.toFixed(1)}-${(BINS[i + 1] ?? 1).toFixed(1)}`,
        runs: inBin.length,
        mean_final_value: meanOrNull(inBin.map(([x]) => x)),
        resolved_share: share(inBin.filter(([, r]) => r === 1).length, inBin.length),
      };
    });
    return {
      samples: {
        runs: s.runs,
        mean_spread: meanOrNull(s.spreads),
        mean_peak_disagreement: meanOrNull(s.peakDisagreements),
        runs_disagreeing: s.disagree,
        mean_rank_correlation: meanOrNull(s.rhos),
      },
      second_teacher:
        t.runs === 0
          ? null
          : {
              model: t.model,
              runs: t.runs,
              answered: t.answered,
              mean_peak_distance: meanOrNull(t.peakDistances),
              mean_rank_correlation: meanOrNull(t.rhos),
              runs_span_changed: t.spanChanged,
              share_span_changed: share(t.spanChanged, t.answered),
            },
      verdicts: { runs: this.verdicts.runs, steps: this.verdicts.steps, incorrect_steps: this.verdicts.incorrect, share_incorrect: share(this.verdicts.incorrect, this.verdicts.steps) },
      anomalies: { ...this.anomalies },
      calibration: { by_outcome: byOutcome, reliability: this.finals.resolved.length ? reliability : null },
    };
  }
}

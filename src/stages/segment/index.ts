import { CurveShape, type PolicyOutcome, type SegmentPolicy } from '../../../schemas/index.js';
import type { Stage } from '../../runner/stage.js';
import type { SegmentDecision } from './decide.js';
import { decidePolicy } from './policies/index.js';
import type { PipelineRecord, Segment, SegmentConfig } from '../../../schemas/index.js';

/**
 * The record function 'segment.decide': every policy's decision on one run, its number of agent turns, and
 * what segment adds when it passes the run on (null: it rejects it, no policy trains any of it).
 */
export function segmentRecord(
  record: PipelineRecord,
  input: { segment: SegmentConfig },
): { decisions: SegmentDecision[]; steps: number; then: { segment: Segment | null; policies?: PolicyOutcome[] } | null } {
  const cfg = input.segment;
  const decisions = cfg.policies.map((p) => decidePolicy(p, record, cfg));
  const d = decisions[0]!;
  const policies = cfg.policies.length > 1 ? { policies: decisions.map((x, i) => toOutcome(cfg.policies[i]!, x)) } : {};
  const rejected = decisions.every((x) => x.kind === 'drop') && d.kind === 'drop';
  return { decisions, steps: record.steps.length, then: rejected ? null : { segment: d.kind === 'drop' ? null : d.segment, ...policies } };
}

/** What one policy did over the stage: runs it trains (by outcome), turns it trains, runs it drops (by reason). */
interface PolicyTally {
  runs_by_outcome: Record<string, number>;
  trained_turns: number;
  weighted_turns: number;
  dropped: Record<string, number>;
}

function tallyPolicy(t: PolicyTally, d: SegmentDecision): void {
  if (d.kind === 'drop') {
    t.dropped[d.reason] = (t.dropped[d.reason] ?? 0) + 1;
    return;
  }
  t.runs_by_outcome[d.outcome] = (t.runs_by_outcome[d.outcome] ?? 0) + 1;
  t.trained_turns += d.segment.trained_steps.length;
  if (d.segment.weights) t.weighted_turns += d.segment.trained_steps.length;
}

const toOutcome = (policy: SegmentPolicy, d: SegmentDecision): PolicyOutcome =>
  d.kind === 'train'
    ? { policy, segment: d.segment, drop: null }
    : { policy, segment: null, drop: { reason: d.reason, message: d.message, ...(d.details ? { details: d.details } : {}) } };

/** Fractions with 4 decimals over a fixed key order, so the manifest and the dataset card read the same. */
function fractions(counts: Record<string, number>): Record<string, number> {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return Object.fromEntries(CurveShape.options.map((k) => [k, total ? Math.round(((counts[k] ?? 0) / total) * 1e4) / 1e4 : 0]));
}

export const segmentStage: Stage = {
  name: 'segment',
  summary: "Cuts each failed run's rising segment before its critical mistake; resolved runs are trained whole.",
  // 2: failed runs whose curve never falls or never moves are suspicious (dropped by default).
  // 3: credit-assignment policies (segment.policies), several per run.
  version: '3',
  streamsUpstream: true,
  configSlice: (config) => config.segment,
  async run(ctx) {
    const cfg = ctx.config.segment;
    const shapes: Record<string, number> = {};
    let failedAgentTurns = 0;
    let recoveredTurns = 0;
    const tallies = cfg.policies.map((): PolicyTally => ({ runs_by_outcome: {}, trained_turns: 0, weighted_turns: 0, dropped: {} }));
    // Each run's decisions are made where it is parsed, in the worker pool (segmentRecord); this thread tallies.
    const decided = ctx.mapRecords({ fields: ['id', 'task_id', 'source', 'outcome'], task: 'segment.decide', input: () => ({ segment: cfg }) });
    for await (const { record, result } of decided) {
      const { decisions, steps, then } = result;
      decisions.forEach((x, i) => tallyPolicy(tallies[i]!, x));
      const d = decisions[0]!;
      const shape = decisions.find((x) => x.shape)?.shape ?? null;
      if (shape) shapes[shape] = (shapes[shape] ?? 0) + 1;
      // A run is rejected only when no policy trains it; the reason is the first policy's.
      if (decisions.every((x) => x.kind === 'drop') && d.kind === 'drop') {
        const perPolicy = cfg.policies.length > 1 ? { policies: Object.fromEntries(decisions.map((x, i) => [cfg.policies[i], x.kind === 'drop' ? x.reason : null])) } : {};
        await ctx.reject({
          reason: d.reason,
          message: d.message,
          id: record.id,
          task_id: record.task_id,
          file: record.source.file,
          record: record.source.record,
          ...(d.details || cfg.policies.length > 1 ? { details: { ...d.details, ...perPolicy } } : {}),
        });
        continue;
      }
      if (d.kind === 'drop') {
        // The first policy trains nothing of it, another does: export leaves it out of the first dataset only.
        await ctx.emit({ ...record, ...then! });
        continue;
      }
      ctx.count('runs_by_outcome', d.outcome);
      ctx.count('trained_turns_by_outcome', d.outcome, d.segment.trained_steps.length);
      if (d.outcome !== 'resolved') {
        failedAgentTurns += steps;
        recoveredTurns += d.segment.trained_steps.length;
        if (d.noClearMistake) ctx.count('failed_runs', 'no_clear_mistake');
        if (d.suspicious) ctx.count('failed_runs', 'suspicious_curve_kept');
        if (d.segment.critical_step !== null) ctx.count('failed_runs', 'with_critical_mistake');
      }
      await ctx.emit({ ...record, ...then! });
    }
    // Shapes count every labelled curve, kept or dropped: the question is whether the teacher's curves are inverted Us.
    ctx.setStat('curve_shapes', Object.fromEntries(CurveShape.options.map((k) => [k, shapes[k] ?? 0])));
    ctx.setStat('curve_shape_fractions', fractions(shapes));
    ctx.setStat('failed_runs_kept_agent_turns', failedAgentTurns);
    ctx.setStat('failed_runs_recovered_turns', recoveredTurns);
    // Per policy, in config order (the first is the one export/ holds); the figures above are the first policy's.
    ctx.setStat('policies', Object.fromEntries(cfg.policies.map((p, i) => [p, tallies[i]])));
  },
};

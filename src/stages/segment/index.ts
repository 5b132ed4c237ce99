import { CurveShape } from '../../../schemas/index.js';
import type { Stage } from '../../runner/stage.js';
import { decideSegment } from './decide.js';

/** Fractions with 4 decimals over a fixed key order, so the manifest and the dataset card read the same. */
function fractions(counts: Record<string, number>): Record<string, number> {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return Object.fromEntries(CurveShape.options.map((k) => [k, total ? Math.round(((counts[k] ?? 0) / total) * 1e4) / 1e4 : 0]));
}

export const segmentStage: Stage = {
  name: 'segment',
  summary: "Cuts each failed run's rising segment before its critical mistake; resolved runs are trained whole.",
  // 2: failed runs whose curve never falls or never moves are suspicious (dropped by default).
  version: '2',
  streamsUpstream: true,
  configSlice: (config) => config.segment,
  async run(ctx) {
    const cfg = ctx.config.segment;
    const shapes: Record<string, number> = {};
    let failedAgentTurns = 0;
    let recoveredTurns = 0;
    for await (const record of ctx.records()) {
      const d = decideSegment(record, cfg);
      if (d.shape) shapes[d.shape] = (shapes[d.shape] ?? 0) + 1;
      if (d.kind === 'drop') {
        await ctx.reject({
          reason: d.reason,
          message: d.message,
          id: record.id,
          task_id: record.task_id,
          file: record.source.file,
          record: record.source.record,
          ...(d.details ? { details: d.details } : {}),
        });
        continue;
      }
      ctx.count('runs_by_outcome', d.outcome);
      ctx.count('trained_turns_by_outcome', d.outcome, d.segment.trained_steps.length);
      if (d.outcome !== 'resolved') {
        failedAgentTurns += record.steps.length;
        recoveredTurns += d.segment.trained_steps.length;
        if (d.noClearMistake) ctx.count('failed_runs', 'no_clear_mistake');
        if (d.suspicious) ctx.count('failed_runs', 'suspicious_curve_kept');
        if (d.segment.critical_step !== null) ctx.count('failed_runs', 'with_critical_mistake');
      }
      await ctx.emit({ ...record, segment: d.segment });
    }
    // Shapes count every labelled curve, kept or dropped: the question is whether the teacher's curves are inverted Us.
    ctx.setStat('curve_shapes', Object.fromEntries(CurveShape.options.map((k) => [k, shapes[k] ?? 0])));
    ctx.setStat('curve_shape_fractions', fractions(shapes));
    ctx.setStat('failed_runs_kept_agent_turns', failedAgentTurns);
    ctx.setStat('failed_runs_recovered_turns', recoveredTurns);
  },
};

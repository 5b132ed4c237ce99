import { z } from 'zod';
import { Trajectory } from './trajectory.js';
import { StepValues, Segment, PolicyOutcome } from './labels.js';

/**
 * What flows between stages: a canonical trajectory, plus what label and segment add.
 * Each stage passes the record on and fills in its own field. On disk, ingest writes it whole; a later
 * stage that only passed it on or added a field writes a reference to that line plus its fields
 * (src/runner/refs.ts, docs/design.md); `trajpipe records RUN STAGE` prints any stage's records whole.
 */
export const PipelineRecord = Trajectory.extend({
  values: StepValues.nullable().optional().describe('Set by label for failed runs; null when not labelled.'),
  segment: Segment.nullable().optional().describe('Set by segment: the first configured policy\'s segment (null when that policy trains nothing of the run).'),
  policies: z
    .array(PolicyOutcome)
    .optional()
    .describe('Set by segment when several policies are configured: one outcome per policy, in config order (the first is `segment`).'),
}).strict();

export type PipelineRecord = z.infer<typeof PipelineRecord>;

import { z } from 'zod';
import { Trajectory } from './trajectory.js';
import { StepValues, Segment } from './labels.js';

/**
 * What flows between stages: a canonical trajectory, plus what label and segment add.
 * Each stage passes the record on and fills in its own field, so any intermediate part file
 * is self-contained and can be opened alone.
 */
export const PipelineRecord = Trajectory.extend({
  values: StepValues.nullable().optional().describe('Set by label for failed runs; null when not labelled.'),
  segment: Segment.nullable().optional().describe('Set by segment.'),
}).strict();

export type PipelineRecord = z.infer<typeof PipelineRecord>;

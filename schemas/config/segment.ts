import { z } from 'zod';
import { SegmentPolicy } from '../labels.js';

/**
 * How a failed run's value curve becomes loss masks (docs/segmentation.md). Every option is part of the
 * segment stage's fingerprint, so changing one reruns segment and export only, never the teacher.
 */
export const SegmentConfig = z
  .object({
    policies: z
      .array(SegmentPolicy)
      .min(1)
      .refine((p) => new Set(p).size === p.length, 'lists a policy twice')
      .default(['rising-segment'])
      .describe(
        'Credit-assignment policies, each written as its own dataset from the same labels: the first in export/ (where tokenize, formats and the report read), every other in export/variants/<policy>/; step-rejection makes label ask the teacher for per-step verdicts.',
      ),
    enabled: z
      .boolean()
      .default(true)
      .describe('false: no credit assignment; resolved runs are trained whole and failed runs are dropped (segment-disabled), a rejection-sampling baseline.'),
    smoothing_window: z
      .number()
      .int()
      .min(1)
      .refine((w) => w % 2 === 1, 'must be odd (a centred moving average)')
      .default(1)
      .describe('Centred moving-average window over the value curve before the peak is found; 1 means no smoothing.'),
    min_drop: z
      .number()
      .min(0)
      .max(1)
      .default(0.05)
      .describe('A fall after the peak smaller than this is no clear mistake: the run is still trained up to its peak, and the note says so.'),
    min_peak_value: z
      .number()
      .min(0)
      .max(1)
      .default(0.1)
      .describe('A run whose (smoothed) peak stays below this never looked like it could succeed: dropped as no-productive-prefix.'),
    min_span_steps: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('A failed run with fewer trained agent turns than this is dropped as no-productive-prefix.'),
    strict: z
      .boolean()
      .default(false)
      .describe('Train only the turns up to the peak where the value rose over the previous turn (never the first turn, which has no previous value).'),
    keep_after_span: z
      .boolean()
      .default(false)
      .describe("false: a failed run's messages are cut after its last trained turn (causal attention makes later turns irrelevant to the loss); true: keep the whole run with those turns masked."),
    shape_tolerance: z
      .number()
      .min(0)
      .max(1)
      .default(0.05)
      .describe('Rises and falls smaller than this are noise when the curve shape is classified.'),
    suspicious_curves: z
      .enum(['drop', 'keep'])
      .default('drop')
      .describe(
        "A failed run whose curve never falls (rising) or does not move (flat) contradicts its own outcome: a teacher steered by text in the run, or a broken labeler. drop: reject it (suspicious-curve); keep: train it as usual, flagged in the segment's note and counted.",
      ),
    unknown_outcome: z
      .enum(['drop', 'as-failed'])
      .default('drop')
      .describe('Runs whose outcome is unknown (resolved: null): drop them (unknown-outcome), or segment them like failed runs when they carry a value curve.'),
  })
  .strict();

export type SegmentConfig = z.infer<typeof SegmentConfig>;

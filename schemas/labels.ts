import { z } from 'zod';

export const Labeler = z.enum(['teacher', 'heuristic']);

/** A second teacher's curve for the same run, compared with the first's (label.second_teacher). */
export const TeacherAgreement = z
  .object({
    model: z.string().describe("The second teacher's model."),
    values: z.array(z.number().min(0).max(1)).nullable().describe("The second teacher's curve; null when it gave no valid answer."),
    peak_distance: z.number().int().nonnegative().nullable().describe('Steps between the two peaks (first maxima).'),
    rank_correlation: z.number().min(-1).max(1).nullable().describe('Spearman rank correlation of the two curves; null when either is constant.'),
    span_changes: z.boolean().nullable().describe("Whether the rising-segment trained span (segment's smoothing and strict mode) differs between the teachers."),
  })
  .strict();

/** The label stage's verdict for one run: one hindsight success probability per agent step. */
export const StepValues = z
  .object({
    labeler: Labeler.describe('teacher: an LLM estimated the curve; heuristic: the built-in offline estimate.'),
    model: z.string().nullable().describe('Teacher model name; null for the heuristic.'),
    prompt_version: z.string().nullable().describe('Prompt template version (or heuristic version).'),
    values: z.array(z.number().min(0).max(1)).describe('values[i] = P(success | steps 0..i), one per step.'),
    samples: z.array(z.array(z.number().min(0).max(1))).nullable().describe('Per-sample curves when K > 1.'),
    spread: z.array(z.number().nonnegative()).nullable().describe('Per-step standard deviation across samples.'),
    peak_disagreement: z.number().int().nonnegative().nullable().describe('Max distance in steps between the samples\' peaks.'),
    flags: z.array(z.string()).describe('e.g. samples-disagree.'),
    request_hash: z.string().nullable().describe('Cache key of the teacher request that produced these values.'),
    verdicts: z
      .array(z.boolean())
      .nullable()
      .optional()
      .describe('Per-step verdicts for step-rejection: verdicts[i] is true when step i was judged correct, false when incorrect; null or absent when not asked.'),
    verdict_prompt_version: z.string().nullable().optional().describe('Version of the verdict request (or heuristic verdict rule); null or absent when verdicts were not asked.'),
    samples_rank_correlation: z
      .number()
      .min(-1)
      .max(1)
      .nullable()
      .optional()
      .describe('Mean Spearman rank correlation between pairs of the K samples; null when K = 1 or a sample is constant.'),
    agreement: TeacherAgreement.nullable().optional().describe('How a second teacher (label.second_teacher) saw the same run; null or absent without one.'),
  })
  .strict();

export const CurveShape = z.enum(['inverted-u', 'rising', 'falling', 'flat', 'multi-peak', 'single-step']);

/** Credit-assignment policies: how a run's labels become per-message loss flags (docs/segmentation.md, "Policies"). */
export const SegmentPolicy = z.enum(['rising-segment', 'step-rejection', 'first-error-prefix', 'error-masking', 'value-weighted']);

/** The segment stage's decision: which agent turns of the run are trained on. */
export const Segment = z
  .object({
    train_start: z.number().int().nonnegative().nullable().describe('First trained message index (inclusive).'),
    train_end: z.number().int().nonnegative().nullable().describe('Last trained message index (inclusive).'),
    trained_steps: z.array(z.number().int().nonnegative()).describe('Step indices whose assistant turn is trained.'),
    peak_step: z.number().int().nonnegative().nullable(),
    peak_value: z.number().nullable(),
    critical_step: z.number().int().nonnegative().nullable().describe('Step after the peak where the value falls most.'),
    critical_drop: z.number().nullable(),
    shape: CurveShape.nullable().describe('null for resolved runs, which have no curve.'),
    smoothed: z.array(z.number()).nullable(),
    note: z.string().nullable().describe('e.g. "no clear mistake: largest fall 0.02 < min_drop 0.05".'),
    cut_after: z
      .number()
      .int()
      .nonnegative()
      .nullable()
      .optional()
      .describe('Last message index to export; later messages are left out (null or absent: keep every message).'),
    policy: SegmentPolicy.optional().describe('The policy that made this segment; absent: rising-segment.'),
    weights: z
      .array(z.number().min(0).max(1))
      .nullable()
      .optional()
      .describe('Per-step loss weights (value-weighted): weights[i] for step i, 0 exactly on untrained steps; null or absent: unweighted.'),
  })
  .strict();

/** What one policy made of a run: a segment to train, or why it trains nothing. */
export const PolicyOutcome = z
  .object({
    policy: SegmentPolicy,
    segment: Segment.nullable().describe('null: this policy trains nothing of the run (see drop).'),
    drop: z
      .object({ reason: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() })
      .strict()
      .nullable(),
  })
  .strict();

export type Labeler = z.infer<typeof Labeler>;
export type StepValues = z.infer<typeof StepValues>;
export type TeacherAgreement = z.infer<typeof TeacherAgreement>;
export type CurveShape = z.infer<typeof CurveShape>;
export type Segment = z.infer<typeof Segment>;
export type SegmentPolicy = z.infer<typeof SegmentPolicy>;
export type PolicyOutcome = z.infer<typeof PolicyOutcome>;

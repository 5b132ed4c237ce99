import { z } from 'zod';
import { Role } from './trajectory.js';
import { CurveShape, Labeler } from './labels.js';

export const SftToolCall = z
  .object({
    id: z.string(),
    type: z.string(),
    function: z.object({ name: z.string(), arguments: z.string() }).strict(),
  })
  .strict();

export const SftMessage = z
  .object({
    role: Role,
    content: z.string(),
    reasoning_content: z.string().nullable(),
    tool_calls: z.array(SftToolCall).nullable(),
    tool_call_id: z.string().nullable(),
    name: z.string().nullable(),
    loss: z.boolean().nullable().describe('true: trained assistant turn; false: untrained assistant turn; null: not an assistant turn.'),
    step_value: z.number().nullable().describe('Hindsight value of this assistant turn, when labelled.'),
    weight: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .optional()
      .describe('Loss weight of this assistant turn under a weighting policy (value-weighted): > 0 exactly where loss is true, 0 where false; null (or absent): unweighted.'),
  })
  .strict();

export const SftOutcome = z.enum(['resolved', 'failed', 'unknown']);

/** One row of an exported Parquet shard. */
export const SftRow = z
  .object({
    id: z.string(),
    task_id: z.string(),
    source: z.string().describe('Harness and format, e.g. "mini-swe-agent/mini-swe-agent-1".'),
    teacher_model: z.string().nullable(),
    outcome: SftOutcome,
    messages: z.array(SftMessage),
    tools: z.string().nullable().describe('JSON string of the function specs offered to the model.'),
    train_start: z.number().int().nonnegative().nullable(),
    train_end: z.number().int().nonnegative().nullable(),
    step_values: z.array(z.number()).nullable(),
    curve_shape: CurveShape.nullable(),
    labeler: Labeler.nullable(),
    prompt_version: z.string().nullable(),
    metadata: z.string().describe('JSON string: task statement, exit status, source file, meta.'),
  })
  .strict();

export type SftToolCall = z.infer<typeof SftToolCall>;
export type SftMessage = z.infer<typeof SftMessage>;
export type SftOutcome = z.infer<typeof SftOutcome>;
export type SftRow = z.infer<typeof SftRow>;

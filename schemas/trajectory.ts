import { z } from 'zod';

/** Bumped when a canonical record changes shape; written into every Parquet footer and manifest. */
// 1.2.0: stages after ingest write reference lines (src/runner/refs.ts) for records whose body they did not change.
export const SCHEMA_VERSION = '1.2.0';

export const Role = z.enum(['system', 'user', 'assistant', 'tool']);

export const ToolCall = z
  .object({
    id: z.string(),
    type: z.literal('function'),
    function: z.object({
      name: z.string(),
      /** Kept as the JSON string the model produced (it may not even be valid JSON). */
      arguments: z.string(),
    }),
  })
  .describe('An OpenAI-style tool call.');

export const Message = z
  .object({
    role: Role,
    content: z.string().describe('Never null: harnesses that send null content get "".'),
    reasoning_content: z.string().optional().describe('Provider reasoning, kept apart from the action.'),
    tool_calls: z.array(ToolCall).optional(),
    tool_call_id: z.string().optional(),
    name: z.string().optional(),
  })
  .strict()
  .describe('One chat message in OpenAI form, as the model saw it.');

export const ActionKind = z.enum(['shell', 'tool_call', 'submit', 'exit', 'none']);

export const Action = z
  .object({
    kind: ActionKind.describe(
      'shell: a command parsed from text; tool_call: a native or XML function call; submit: the run submits; exit: a harness special action such as exit_cost; none: no parsable action (format error).',
    ),
    name: z.string().nullable().describe('Tool or special-action name (bash, str_replace_editor, submit, exit_cost, ...).'),
    command: z.string().nullable().describe('Shell command when the action runs one.'),
    arguments: z.string().nullable().describe('Tool-call arguments as the JSON string the model wrote.'),
    tool_call_id: z.string().nullable(),
  })
  .strict();

export const StepFlags = z
  .object({
    format_error: z.boolean(),
    timeout: z.boolean(),
    truncated_observation: z.boolean(),
    harness_error: z.boolean(),
    submit: z.boolean(),
    runtime_error: z
      .boolean()
      .optional()
      .describe('The harness reported the command as failed in its own words (a non-zero exit the harness states, an editor tool error); absent: not detected.'),
  })
  .strict();

export const Step = z
  .object({
    index: z.number().int().nonnegative().describe('0-based step number; one step = one assistant turn.'),
    message_index: z.number().int().nonnegative().describe('Index into messages of the assistant turn.'),
    actions: z.array(Action).describe('Parsed actions (usually one; several for parallel tool calls; none on a format error).'),
    observation_indices: z
      .array(z.number().int().nonnegative())
      .describe('Indices into messages of the observations answering this step (tool or user turns).'),
    flags: StepFlags,
  })
  .strict();

export const Harness = z.enum(['swe-agent', 'mini-swe-agent', 'openhands', 'chat-dataset', 'canonical']);

export const Source = z
  .object({
    harness: Harness,
    format: z.string().describe('Format and version, e.g. swe-agent-0.x, mini-swe-agent-1, openhands-events.'),
    file: z.string().describe('Input file, relative to the working directory when possible.'),
    record: z.number().int().nonnegative().describe('Where in the file: the 1-based line of a JSON-lines record, the 0-based row of a Parquet shard, 0 for a one-run file.'),
    teacher_model: z.string().nullable(),
  })
  .strict();

export const Outcome = z
  .object({
    resolved: z.boolean().nullable().describe('null when no label was found; never guessed.'),
    exit_status: z.string().nullable(),
    submitted_patch: z.string().nullable(),
    label_source: z.string().nullable().describe('Where resolved came from, e.g. "results.json:/path" or "row:target".'),
    failing_tests: z.array(z.string()).nullable().describe('Tests that still failed, when an evaluation report says.'),
  })
  .strict();

export const Trajectory = z
  .object({
    id: z.string().regex(/^[0-9a-f]{24}$/).describe('Content hash of task_id, harness and messages.'),
    task_id: z.string().min(1),
    task: z.string().describe('The task statement (issue text).'),
    source: Source,
    messages: z.array(Message),
    tools: z.array(z.record(z.string(), z.unknown())).nullable().describe('Function specs offered to the model, when known.'),
    steps: z.array(Step),
    outcome: Outcome,
    meta: z.record(z.string(), z.unknown()).describe('Free-form: harness extras and unknown keys are kept here.'),
  })
  .strict();

export type Role = z.infer<typeof Role>;
export type ToolCall = z.infer<typeof ToolCall>;
export type Message = z.infer<typeof Message>;
export type Action = z.infer<typeof Action>;
export type StepFlags = z.infer<typeof StepFlags>;
export type Step = z.infer<typeof Step>;
export type Harness = z.infer<typeof Harness>;
export type Source = z.infer<typeof Source>;
export type Outcome = z.infer<typeof Outcome>;
export type Trajectory = z.infer<typeof Trajectory>;

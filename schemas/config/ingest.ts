import { z } from 'zod';

export const IngestFormat = z.enum([
  'auto',
  'canonical',
  'swe-agent',
  'mini-swe-agent',
  'openhands-completions',
  'openhands-events',
  'chat-dataset',
]);

export const RedactConfig = z
  .object({
    enabled: z.boolean().default(true).describe('Scan every text of every run for credentials before anything is written or sent to a teacher.'),
    mode: z.enum(['redact', 'reject']).default('redact').describe('redact: replace each secret by [REDACTED:<type>]; reject: drop the run (reason contains-secret).'),
    emails: z.boolean().default(false).describe('Also replace e-mail addresses ([REDACTED:email]).'),
    allow: z.array(z.string()).default([]).describe('Texts never redacted: exact strings, or /regex/flags (e.g. a documented example key).'),
  })
  .strict();

export const IngestConfig = z
  .object({
    format: IngestFormat.default('auto').describe('Force one format for every input; auto detects per file or record.'),
    labels: z.array(z.string()).default([]).describe('Outcome files (results.json, report.json, sb-cli reports, preds) to join; they apply to every run and win over found ones.'),
    find_labels: z.boolean().default(true).describe('Also look for outcome files beside the trajectories (their folder and two levels up, plus results/ and logs/).'),
    max_json_bytes: z
      .number()
      .int()
      .positive()
      .default(256 * 1024 * 1024)
      .describe('Largest single-run JSON file parsed whole; bigger ones are rejected (use JSON lines or Parquet for big data).'),
    max_line_bytes: z
      .number()
      .int()
      .positive()
      .default(128 * 1024 * 1024)
      .describe('Longest JSON-lines record (bytes); a longer line is rejected as line-too-large and skipped to the next newline without being held in memory.'),
    max_depth: z
      .number()
      .int()
      .positive()
      .max(1000)
      .default(256)
      .describe('Deepest nesting of objects and arrays accepted in a record (real trajectories nest about 10 deep); deeper records are rejected as too-deep.'),
    redact: RedactConfig.prefault({}).describe('Secret redaction (docs/redaction.md).'),
    dataset: z
      .object({
        messages_column: z.string().nullable().default(null).describe('Column holding the chat list; null tries messages, trajectory, conversations.'),
        resolved_column: z.string().nullable().default(null).describe('Column holding the success flag; null tries resolved, target, success.'),
        task_id_column: z.string().nullable().default(null).describe('Column holding the task id; null tries instance_id, task_id.'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type IngestConfig = z.infer<typeof IngestConfig>;
export type RedactConfig = z.infer<typeof RedactConfig>;

import { z } from 'zod';

export const StageName = z.enum(['ingest', 'filter', 'dedup', 'label', 'segment', 'export', 'tokenize', 'formats', 'pool']);
export const STAGE_ORDER = StageName.options;

/** One line of <stage>/rejects.jsonl: every record a stage did not pass on, and why. */
export const Reject = z
  .object({
    stage: StageName,
    reason: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).describe('Machine-readable, kebab-case, e.g. bad-json, decontaminated-id.'),
    message: z.string().min(1).describe('A sentence a person can read.'),
    id: z.string().nullable(),
    task_id: z.string().nullable(),
    file: z.string().nullable(),
    record: z.number().int().nullable(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const OutputFile = z
  .object({
    path: z.string().describe('Relative to the stage folder.'),
    records: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    sha256: z.string(),
  })
  .strict();

/** <stage>/manifest.json, written last: its presence with a matching fingerprint marks the stage complete. */
export const StageManifest = z
  .object({
    stage: StageName,
    schema_version: z.string(),
    code_version: z.string(),
    fingerprint: z.string().describe('Hash of input fingerprint, config hash, stage version and schema version.'),
    input_fingerprint: z.string(),
    config_hash: z.string(),
    config: z.unknown().describe('The config slice that this stage depends on.'),
    records_in: z.number().int().nonnegative(),
    records_out: z.number().int().nonnegative(),
    dropped: z.record(z.string(), z.number().int().nonnegative()).describe('Dropped records per reason.'),
    output_fingerprint: z.string().describe('Hash over the output files (and the references below): what the next stage fingerprints.'),
    references: z
      .record(z.string(), z.string())
      .optional()
      .describe('Stages whose lines this stage\'s reference lines point at, with the output fingerprint they were written against.'),
    outputs: z.array(OutputFile),
    stats: z.record(z.string(), z.unknown()).describe('Stage-specific counts (per harness, per outcome, ...).'),
    timings: z.object({ started_at: z.string(), finished_at: z.string(), seconds: z.number() }).strict(),
  })
  .strict();

export type StageName = z.infer<typeof StageName>;
export type Reject = z.infer<typeof Reject>;
export type OutputFile = z.infer<typeof OutputFile>;
export type StageManifest = z.infer<typeof StageManifest>;

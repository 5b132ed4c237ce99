import { z } from 'zod';

/** The HTML run report written at the end of a run (docs/report.md). None of these keys change any stage's output. */
export const ReportConfig = z
  .object({
    enabled: z.boolean().default(true).describe('Write <out>/report.html at the end of every completed run.'),
    page_size: z.number().int().positive().default(50).describe('Runs per page of the browsable list.'),
    max_runs_with_messages: z
      .number()
      .int()
      .nonnegative()
      .default(500)
      .describe('Runs whose messages are embedded in the page (every run keeps its curve); later runs show their curve only.'),
    max_message_chars: z
      .number()
      .int()
      .nonnegative()
      .default(3_000_000)
      .describe('Budget of message characters embedded in the whole page; once spent, later runs show their curve only (the page stays a few MB).'),
    message_chars: z.number().int().positive().default(1500).describe('A message longer than this is shortened to its head and tail in the page.'),
    fold_chars: z.number().int().positive().default(400).describe('Observations longer than this are folded (click to open).'),
    examples_per_reason: z.number().int().positive().default(3).describe('Example rejects shown per reason.'),
  })
  .strict();

/** Guards of a nightly build: a tripped guard makes `trajpipe nightly` exit non-zero with a sentence. */
export const NightlyGuards = z
  .object({
    reject_share_factor: z
      .number()
      .positive()
      .nullable()
      .default(2)
      .describe("Trips when a reject reason's share of the records its stage read grows by this factor or more over the previous night; null: off."),
    reject_share_min: z
      .number()
      .min(0)
      .max(1)
      .default(0.01)
      .describe('Shares below this (tonight) never trip the factor guard: one reject among thousands is noise.'),
    max_export_drop: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .default(0.2)
      .describe('Trips when exported rows fall by more than this fraction of the previous night; null: off.'),
  })
  .strict();

export const NightlyConfig = z
  .object({
    root: z.string().nullable().default(null).describe('Folder of the dated run folders and the latest pointer; null: the pipeline\'s out.'),
    guards: NightlyGuards.prefault({}),
  })
  .strict();

export type ReportConfig = z.infer<typeof ReportConfig>;
export type NightlyGuards = z.infer<typeof NightlyGuards>;
export type NightlyConfig = z.infer<typeof NightlyConfig>;

import { z } from 'zod';
import { IngestConfig } from './ingest.js';
import { FilterConfig } from './filter.js';
import { DedupConfig } from './dedup.js';
import { LabelConfig } from './label.js';
import { SegmentConfig } from './segment.js';
import { ExportConfig } from './export.js';
import { TokenizeConfig } from './tokenize.js';
import { TokenizerConfig } from './tokenizer.js';
import { ReportConfig, NightlyConfig, NightlyGuards } from './report.js';
import { FormatsConfig } from './formats.js';
import { PoolConfig } from './pool.js';

export const RunnerConfig = z
  .object({
    part_max_records: z.number().int().positive().default(10_000).describe('Records per intermediate part file.'),
    part_max_bytes: z.number().int().positive().default(512 * 1024 * 1024).describe('Bytes per intermediate part file.'),
    workers: z
      .number()
      .int()
      .nonnegative()
      .nullable()
      .default(null)
      .describe('Worker threads for per-record CPU work (token counting, Parquet encoding and zstd); null: one per core (os.availableParallelism()); 0 or 1: all in the main thread. Never changes any output, so no fingerprint holds it.'),
  })
  .strict();

/** What a file in pipelines/ contains. Unknown keys are errors, so a typo never passes silently. */
export const PipelineConfig = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).describe('Names the run; the default output folder is data/runs/<name>.'),
    description: z.string().optional(),
    inputs: z
      .union([z.string().min(1).transform((s) => [s]), z.array(z.string())])
      .default([])
      .describe("Files, folders or globs (one, or a list); relative paths in a pipeline file are relative to the file's folder."),
    out: z.string().nullable().default(null).describe("Output folder, relative to the pipeline file's folder; null means data/runs/<name> under the working directory."),
    runner: RunnerConfig.prefault({}),
    tokenizer: TokenizerConfig.default({ kind: 'tiktoken', encoding: 'o200k_base' }).describe("The student's tokenizer, for length limits and token counts."),
    ingest: IngestConfig.prefault({}),
    filter: FilterConfig.prefault({}),
    dedup: DedupConfig.prefault({}),
    label: LabelConfig.prefault({}),
    segment: SegmentConfig.prefault({}),
    export: ExportConfig.prefault({}),
    report: ReportConfig.prefault({}),
    nightly: NightlyConfig.prefault({}),
    formats: FormatsConfig.prefault({}),
    pool: PoolConfig.prefault({}),
    tokenize: TokenizeConfig.prefault({}),
  })
  .strict();

export type RunnerConfig = z.infer<typeof RunnerConfig>;
export type PipelineConfig = z.infer<typeof PipelineConfig>;
export { TokenizerConfig, IngestConfig, FilterConfig, DedupConfig, LabelConfig, SegmentConfig, ExportConfig, TokenizeConfig, FormatsConfig, PoolConfig, ReportConfig, NightlyConfig, NightlyGuards };
export { FormatTarget } from './formats.js';

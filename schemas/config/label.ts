import { z } from 'zod';
import { TokenizerConfig } from './tokenizer.js';

const PositiveOrNull = z.number().positive().nullable().default(null);

/** What the teacher is asked and how its answer is read: every field here changes the labels (and the cache key). */
export const TeacherConfig = z
  .object({
    base_url: z.string().url().nullable().default(null).describe('OpenAI-compatible endpoint; null uses the heuristic labeler.'),
    model: z.string().nullable().default(null),
    api_key_env: z.string().default('OPENAI_API_KEY').describe('Name of the environment variable holding the key (never the key itself).'),
    prompt_version: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .default('hindsight-1')
      .describe('Version of the prompt template; part of every cache key and output row. Changing it re-asks the teacher for every run.'),
    verdict_prompt_version: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .default('step-verdict-1')
      .describe('Version of the per-step verdict request (asked only when segment.policies lists step-rejection); part of its cache keys and of each row.'),
    instructions_file: z
      .string()
      .nullable()
      .default(null)
      .describe('Own instructions replacing the built-in ones (give them their own prompt_version); null: the built-in template.'),
    response_format: z
      .enum(['json_schema', 'json_object', 'none'])
      .default('json_schema')
      .describe('json_schema: structured output fixing one value per step; json_object or none for endpoints without it (the answer is then parsed tolerantly).'),
    temperature: z.number().min(0).max(2).nullable().default(null).describe('null: 0 for one sample, 0.7 when samples > 1.'),
    max_tokens: z.number().int().positive().nullable().default(null).describe('Completion cap sent with each request; null: not sent.'),
    samples: z.number().int().min(1).default(1).describe('K answers per run, averaged; per-sample curves and their spread are kept.'),
    samples_mode: z.enum(['n', 'requests']).default('n').describe('n: one request with n=K; requests: K requests (for servers without n).'),
    peak_disagreement_steps: z
      .number()
      .int()
      .nonnegative()
      .default(2)
      .describe('Samples whose peaks lie more than this many steps apart disagree.'),
    on_disagreement: z.enum(['flag', 'drop']).default('flag').describe('flag: keep the run with flag samples-disagree; drop: reject it.'),
    max_invalid_retries: z.number().int().nonnegative().default(2).describe('Re-asks after an invalid answer before the run is rejected.'),
    tokenizer: TokenizerConfig.nullable()
      .default(null)
      .describe("Tokenizer for the prompt budget; null: the pipeline's (student's) tokenizer, an estimate of the teacher's count."),
    max_prompt_tokens: z.number().int().positive().default(100_000).describe('Prompt token budget; longer runs are compacted, then rejected.'),
    observation_max_chars: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('Observations longer than this are shortened to their head and tail (Orchard: 10,000).'),
    observation_head_chars: z.number().int().nonnegative().default(5_000),
    observation_tail_chars: z.number().int().nonnegative().default(5_000),
    compact_min_chars: z
      .number()
      .int()
      .positive()
      .default(400)
      .describe('Compaction halves the per-field limit until this; a run still over budget is rejected as too-long-for-teacher.'),
  })
  .strict();

/** How fast and how much: none of these change a label, so they are left out of the stage fingerprint. */
export const TeacherLimits = z
  .object({
    concurrency: z.number().int().positive().default(8).describe('Requests in flight at most.'),
    rpm: PositiveOrNull.describe('Requests per minute; null: no limit.'),
    tpm: PositiveOrNull.describe('Tokens (prompt + expected completion) per minute; null: no limit.'),
    timeout_s: z.number().positive().default(300).describe('Per-request timeout, the whole answer included.'),
    max_retries: z
      .number()
      .int()
      .nonnegative()
      .default(6)
      .describe('Retries of a request after 429, 5xx, timeouts, dropped connections and 200s that are not chat completions.'),
    backoff_base_s: z.number().positive().default(1),
    backoff_max_s: z.number().positive().default(60),
    stop_after_failures: z
      .number()
      .int()
      .positive()
      .default(10)
      .describe("Runs in a row whose requests failed for the run's own reasons (4xx, or failing alone while the teacher answers others) before the stage stops resumably: that many suggest a configuration fault."),
    price_prompt_per_mtok: z.number().nonnegative().default(0).describe('Price per million prompt tokens, for the cost estimate.'),
    price_completion_per_mtok: z.number().nonnegative().default(0),
    max_cost: PositiveOrNull.describe('Stop the stage cleanly once the estimated cost reaches this.'),
    max_requests: z.number().int().positive().nullable().default(null).describe('Stop the stage cleanly after this many requests sent (batch lines included).'),
    batch_price_factor: z
      .number()
      .nonnegative()
      .default(0.5)
      .describe('Price of a batch request as a share of a live one (OpenAI and the providers copying its Batch API: half).'),
  })
  .strict();

/** label.mode: batch. How batches are sent and waited for; like the limits, none of it changes a label. */
export const BatchSettings = z
  .object({
    poll_interval_s: z.number().positive().default(60).describe('Seconds between two looks at a running batch.'),
    max_wait_s: z
      .number()
      .positive()
      .default(90_000)
      .describe('How long the stage waits for its batches (the providers promise 24 h) before it stops resumably; a rerun polls the same batches.'),
    max_requests_per_file: z.number().int().positive().max(50_000).default(50_000).describe('Lines per batch input file (OpenAI: at most 50,000).'),
    max_file_bytes: z
      .number()
      .int()
      .positive()
      .default(190_000_000)
      .describe('Bytes per batch input file (OpenAI: at most 200 MB).'),
    max_rounds: z
      .number()
      .int()
      .positive()
      .default(3)
      .describe('Batch rounds: the first asks every uncached request, later ones the re-asks of invalid answers; what is left goes live.'),
  })
  .strict();

/** A second teacher asked the same values request, to measure how far two teachers agree (never used for training). */
export const SecondTeacherConfig = z
  .object({
    base_url: z.string().url(),
    model: z.string().min(1),
    api_key_env: z.string().default('OPENAI_API_KEY').describe('Name of the environment variable holding its key (never the key itself).'),
  })
  .strict();

/** Resolved runs labelled as well, to see how the final values sit against a known outcome; their training is unchanged. */
export const CalibrationConfig = z
  .object({
    resolved_share: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe('Share of resolved runs (chosen by a hash of the run id) labelled too, told only that the run was resolved; 0: none.'),
  })
  .strict();

/** Processes sharing one cache (shards of a cluster job): none asks what another is asking already. */
export const CacheClaimsConfig = z
  .object({
    enabled: z.boolean().default(true).describe('Claim each request in the cache before sending it, so processes sharing the cache never ask the same twice.'),
    stale_s: z
      .number()
      .positive()
      .default(120)
      .describe("A claim of a process on another host whose file has not been touched for this long is taken over (on this host a dead pid is seen at once). Keep it well over the filesystem's attribute caching (NFS acregmax, 60 s by default)."),
    heartbeat_s: z.number().positive().default(20).describe('How often a process touches the claims it holds; under stale_s / 3.'),
  })
  .strict()
  .refine((c) => c.heartbeat_s * 3 <= c.stale_s, { message: 'heartbeat_s must be at most a third of stale_s', path: ['heartbeat_s'] });

export const LabelConfig = z
  .object({
    enabled: z.boolean().default(true),
    teacher: TeacherConfig.prefault({}),
    limits: TeacherLimits.prefault({}),
    mode: z
      .enum(['live', 'batch'])
      .default('live')
      .describe("live: one request at a time; batch: the provider's Batch API first (about half price, up to 24 h), live for what a batch did not answer."),
    batch: BatchSettings.prefault({}),
    second_teacher: SecondTeacherConfig.nullable()
      .default(null)
      .describe('A second teacher for agreement figures (peak distance, rank correlation, trained span changed); null: none.'),
    calibration: CalibrationConfig.prefault({}),
    cache_dir: z
      .string()
      .min(1)
      .default('cache/teacher')
      .describe("Response cache; a relative path is taken from the run's output folder (not the working directory). Give an absolute path to share it across output folders."),
    cache_claims: CacheClaimsConfig.prefault({}),
  })
  .strict();

export type TeacherConfig = z.infer<typeof TeacherConfig>;
export type TeacherLimits = z.infer<typeof TeacherLimits>;
export type LabelConfig = z.infer<typeof LabelConfig>;
export type BatchSettings = z.infer<typeof BatchSettings>;
export type SecondTeacherConfig = z.infer<typeof SecondTeacherConfig>;

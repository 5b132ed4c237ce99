import { z } from 'zod';

/** A case-insensitive regular expression, checked when the config loads rather than mid-run. */
const Pattern = z.string().refine(
  (s) => {
    try {
      new RegExp(s, 'i');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

/** Which runs a rule looks at: every run, or only failed ones (resolved false or unknown). */
export const ApplyTo = z.enum(['all', 'failed']);

const ruleBase = (applyTo: z.infer<typeof ApplyTo>) => ({
  enabled: z.boolean().default(true),
  apply_to: ApplyTo.default(applyTo).describe('all: every run; failed: only runs not known to be resolved.'),
});

/** The held-out instance-id lists shipped in data/benchmarks/<name>.ids (sources in its README). */
export const BUNDLED_BENCHMARKS = ['swe-bench-verified', 'swe-bench-lite', 'swe-bench-multilingual', 'multi-swe-bench', 'multi-swe-bench-mini'] as const;
export const BundledBenchmark = z.enum(BUNDLED_BENCHMARKS);

export const DecontaminateConfig = z
  .object({
    ...ruleBase('all'),
    benchmarks: z
      .array(BundledBenchmark)
      .default([...BUNDLED_BENCHMARKS])
      .describe('Bundled held-out benchmark id lists (data/benchmarks/<name>.ids) checked besides the ids files; [] checks none of them.'),
    ids: z
      .array(z.string())
      .default([])
      .describe('Your own held-out benchmark files, besides the bundled lists: instance ids one per line, or JSON lines with instance_id and optionally problem_statement.'),
    repos: z.array(z.string()).default([]).describe('Repositories to drop entirely, as owner/repo (or owner__repo).'),
    repos_from_ids: z
      .boolean()
      .default(false)
      .describe('Also drop every repository that appears in the benchmark lists (bundled and ids files); off by default, so other tasks from a benchmark repository are kept.'),
    ngram: z
      .object({
        size: z.number().int().min(1).max(50).default(5).describe('Words per n-gram when comparing task statements with benchmark statements.'),
        threshold: z
          .number()
          .min(0)
          .max(1)
          .default(0.3)
          .describe('Drop when shared n-grams / n-grams of the shorter statement reach this.'),
        min_shared: z.number().int().min(1).default(8).describe('And at least this many n-grams are shared (stops short statements matching by chance).'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const MalformedConfig = z
  .object({
    ...ruleBase('all'),
    known_tools: z
      .array(z.string())
      .default([])
      .describe('Tool names always accepted, besides those in the run\'s own tool list (runs without a tool list are not checked for unknown tools).'),
  })
  .strict();

export const UnfinishedConfig = z
  .object({
    ...ruleBase('all'),
    finished_exit_statuses: z
      .array(z.string())
      .default(['submitted', 'submit', 'finished', 'completed'])
      .describe('Exit statuses (case-insensitive, exact) that mean the agent ended the run itself.'),
    cutoff_patterns: z
      .array(Pattern)
      .default(['exit_cost', 'exit_context', 'cost.?limit', 'context.?(window|length)', 'limitsexceeded', 'step.?limit', 'max(imum)?.?iteration'])
      .describe('Exit statuses matching one of these were cut off by a cost, context or step limit.'),
    require_submission: z.boolean().default(true).describe('Also drop runs with no submit action and no submitted patch.'),
  })
  .strict();

export const LengthConfig = z
  .object({
    ...ruleBase('all'),
    max_steps: z.number().int().positive().nullable().default(300).describe('Most assistant turns a run may have (null: no limit).'),
    max_tokens: z.number().int().positive().nullable().default(131_072).describe('Most tokens of the whole conversation, counted with config.tokenizer.'),
    max_observation_tokens: z.number().int().positive().nullable().default(32_768).describe('Most tokens of any single observation.'),
  })
  .strict();

export const LoopsConfig = z
  .object({
    ...ruleBase('all'),
    max_repeats: z.number().int().min(2).default(5).describe('Drop when the same action is taken this many times in a row.'),
    max_stale_steps: z
      .number()
      .int()
      .min(2)
      .default(10)
      .describe('Drop when this many steps in a row bring no new observation (the observation, or the action and its empty output, was seen before).'),
  })
  .strict();

export const InfrastructureConfig = z
  .object({
    ...ruleBase('failed'),
    exit_patterns: z
      .array(Pattern)
      .default([
        'retryerror',
        'exit_api',
        'exit_environment',
        'ratelimit',
        'rate.?limit',
        'apiconnectionerror',
        'apitimeouterror',
        'serviceunavailable',
        'internalservererror',
        'docker',
        'sandbox',
        'agentruntime\\w*error',
        'runtime.?(disconnected|unavailable)',
        'environment.?error',
      ])
      .describe('Exit statuses, meta.error or harness exit actions (exit_api, ...) meaning the harness or its environment failed.'),
    sandbox_patterns: z
      .array(Pattern)
      .default([
        'error response from daemon',
        'container [^\\n]{0,80}(is not running|exited|not found)',
        'sandbox (error|crashed|died|unavailable|not ready)',
        'no space left on device',
        'agentruntime\\w*error',
        'runtime (disconnected|not ready)',
        'interrupt failed\\. restarting process',
      ])
      .describe('Observation text meaning the sandbox broke.'),
    network_patterns: z
      .array(Pattern)
      .default([
        'temporary failure in name resolution',
        'could not resolve host',
        'name or service not known',
        'network is unreachable',
        'econnreset',
        'too many requests',
        'rate limit exceeded',
      ])
      .describe('Observation text meaning the network or a rate limit failed.'),
    timeout_patterns: z
      .array(Pattern)
      .default(['execution timed out', 'command timed out', 'timed out after \\d+ seconds'])
      .describe('Observation text meaning a command timed out (besides the step timeout flag).'),
    max_timeouts: z.number().int().min(1).default(3).describe('This many timed-out commands in one run count as an environment failure.'),
    tail_steps: z.number().int().min(1).default(5).describe('Sandbox and network errors count only in the last this many steps (the run died of them).'),
  })
  .strict();

export const FilterConfig = z
  .object({
    enabled: z.boolean().default(true),
    decontaminate: DecontaminateConfig.prefault({}),
    infrastructure: InfrastructureConfig.prefault({}),
    malformed: MalformedConfig.prefault({}),
    unfinished: UnfinishedConfig.prefault({}),
    length: LengthConfig.prefault({}),
    loops: LoopsConfig.prefault({}),
  })
  .strict();

export type ApplyTo = z.infer<typeof ApplyTo>;
export type BundledBenchmark = z.infer<typeof BundledBenchmark>;
export type DecontaminateConfig = z.infer<typeof DecontaminateConfig>;
export type MalformedConfig = z.infer<typeof MalformedConfig>;
export type UnfinishedConfig = z.infer<typeof UnfinishedConfig>;
export type LengthConfig = z.infer<typeof LengthConfig>;
export type LoopsConfig = z.infer<typeof LoopsConfig>;
export type InfrastructureConfig = z.infer<typeof InfrastructureConfig>;
export type FilterConfig = z.infer<typeof FilterConfig>;

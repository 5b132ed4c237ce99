import { z } from 'zod';

export const MinhashConfig = z
  .object({
    enabled: z.boolean().default(true),
    threshold: z
      .number()
      .min(0)
      .max(1)
      .default(0.8)
      .describe('Estimated Jaccard similarity at or above which two task statements are near-duplicates.'),
    bands: z.number().int().positive().default(32).describe('LSH bands; bands x rows is the number of hash functions.'),
    rows: z.number().int().positive().default(4).describe('Rows (hash values) per band.'),
    shingle_size: z.number().int().positive().default(5).describe('Words per shingle.'),
    seed: z.number().int().nonnegative().default(1).describe('Seed of the hash functions: same seed, same clusters.'),
  })
  .strict();

export const SemanticConfig = z
  .object({
    enabled: z.boolean().default(false),
    base_url: z.string().url().nullable().default(null).describe('OpenAI-compatible endpoint (…/v1); required when enabled.'),
    model: z.string().nullable().default(null).describe('Embedding model name; required when enabled.'),
    dimensions: z.number().int().positive().nullable().default(null).describe('Ask the endpoint for this many dimensions (null: its default).'),
    api_key_env: z.string().default('OPENAI_API_KEY').describe('Name of the environment variable holding the key (never the key itself).'),
    threshold: z
      .number()
      .min(-1)
      .max(1)
      .default(0.99)
      .describe('Drop a task whose cosine similarity to an already kept task exceeds this (0.99 in the Orchard recipe).'),
    batch_size: z.number().int().positive().default(64).describe('Statements per embeddings request.'),
    cache_dir: z.string().default('data/cache/embeddings').describe('Embeddings cached by content hash, shared across runs.'),
  })
  .strict();

export const DedupConfig = z
  .object({
    enabled: z.boolean().default(true),
    exact: z
      .object({
        tasks: z.boolean().default(true).describe('Identical task statements after normalisation (case, whitespace, volatile ids) are one task.'),
        trajectories: z.boolean().default(true).describe('Runs of one task with the same actions in the same order are one run.'),
      })
      .strict()
      .prefault({}),
    minhash: MinhashConfig.prefault({}),
    semantic: SemanticConfig.prefault({}),
    per_task_cap: z
      .number()
      .int()
      .positive()
      .nullable()
      .default(null)
      .describe('Keep at most this many runs per task, resolved first, then the most different (null: no cap).'),
  })
  .strict();

export type MinhashConfig = z.infer<typeof MinhashConfig>;
export type SemanticConfig = z.infer<typeof SemanticConfig>;
export type DedupConfig = z.infer<typeof DedupConfig>;

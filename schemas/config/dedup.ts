import { z } from 'zod';

export const DedupConfig = z
  .object({
    enabled: z.boolean().default(true),
    minhash: z
      .object({
        threshold: z.number().min(0).max(1).default(0.8).describe('Estimated Jaccard similarity above which task statements are near-duplicates.'),
      })
      .strict()
      .prefault({}),
    per_task_cap: z.number().int().positive().nullable().default(null).describe('Keep at most this many runs per task (null: no cap).'),
  })
  .strict();

export type DedupConfig = z.infer<typeof DedupConfig>;

import { z } from 'zod';

/** The RL task pool (docs/trainer-formats.md#rl-task-pool): per-task pass rates over every ingested attempt. */
export const PoolConfig = z
  .object({
    enabled: z.boolean().default(true).describe('Write <out>/pool/tasks.parquet (every task) and pool.parquet (tasks in the band).'),
    band: z
      .object({
        min: z.number().min(0).max(1).default(0).describe('Lowest pass rate in the pool.'),
        max: z.number().min(0).max(1).default(1).describe('Highest pass rate in the pool.'),
        include_min: z.boolean().default(false).describe('false (default): a task at exactly `min` (never solved, with min 0) stays out.'),
        include_max: z.boolean().default(false).describe('false (default): a task at exactly `max` (always solved, with max 1) stays out.'),
      })
      .strict()
      .refine((b) => b.min <= b.max, 'band.min must not exceed band.max')
      .prefault({}),
    min_known_attempts: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('A task needs this many attempts with a known outcome to get a pass rate; unknown-outcome attempts never count.'),
  })
  .strict();

export type PoolConfig = z.infer<typeof PoolConfig>;

import { z } from 'zod';

/**
 * Which share of the inputs this process runs (`trajpipe run --shard I/N`; set from the command line only).
 * It is part of ingest's fingerprint: the partition changes ingest's output. `run_dir` is the run folder the
 * shard belongs to (its own stage folders are `<run_dir>/shards/I-of-N/`), where the dedup reduce's decision is.
 */
export const ShardConfig = z
  .object({
    index: z.number().int().min(0),
    count: z.number().int().positive(),
    run_dir: z.string().min(1),
  })
  .strict()
  .refine((s) => s.index < s.count, { message: 'shard index must be below the shard count' });

export type ShardConfig = z.infer<typeof ShardConfig>;

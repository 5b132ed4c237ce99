import { z } from 'zod';

export const ExportConfig = z
  .object({
    shard: z
      .object({
        max_rows: z.number().int().positive().default(5000).describe('Start a new shard after this many rows.'),
        target_bytes: z.number().int().positive().default(256 * 1024 * 1024).describe('Start a new shard once this many uncompressed bytes went in.'),
      })
      .strict()
      .prefault({}),
    row_group_rows: z.number().int().positive().default(64).describe('Rows per row group: small, because rows hold long strings.'),
    zstd_level: z.number().int().min(1).max(19).default(3),
  })
  .strict();

export type ExportConfig = z.infer<typeof ExportConfig>;

import { z } from 'zod';

export const ExportConfig = z
  .object({
    shard: z
      .object({
        max_rows: z.number().int().positive().default(5000).describe('Start a new shard after this many rows.'),
        target_bytes: z.number().int().positive().default(256 * 1024 * 1024).describe('Start a new shard once this many uncompressed bytes went in.'),
        buckets: z
          .number()
          .int()
          .positive()
          .max(65536)
          .default(16)
          .describe('Rows go to files by a hash of their task id into this many buckets, in input order within a bucket; a sharded run (--shard I/N, N at most this) owns whole buckets, so its files are those of a single process, byte for byte.'),
      })
      .strict()
      .prefault({}),
    card: z
      .object({
        // trajpipe cannot know the terms of the trajectories it reads (each harness run, benchmark and model
        // has its own), so it claims none: set this to the license you may publish them under.
        license: z
          .string()
          .regex(/^[a-z0-9][a-z0-9.+-]*$/)
          .default('unknown')
          .describe('Hugging Face license id for the card (apache-2.0, mit, cc-by-4.0, other, ...); unknown until you set it.'),
        language: z
          .array(z.string().min(1))
          .min(1)
          .default(['en', 'code'])
          .describe('Hugging Face language tags: the trajectories are English instructions and source code.'),
      })
      .strict()
      .prefault({}),
    row_group_rows: z.number().int().positive().default(64).describe('Rows per row group: small, because rows hold long strings.'),
    row_group_bytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024)
      .describe('A row group also ends once this many uncompressed bytes are in it. Each task bucket (and each policy dataset) buffers one group, so memory holds at most buckets x datasets x this.'),
    zstd_level: z.number().int().min(1).max(19).default(3),
  })
  .strict();

export type ExportConfig = z.infer<typeof ExportConfig>;

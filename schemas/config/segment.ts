import { z } from 'zod';

export const SegmentConfig = z
  .object({
    enabled: z.boolean().default(true),
  })
  .strict();

export type SegmentConfig = z.infer<typeof SegmentConfig>;

import { z } from 'zod';

export const FilterConfig = z
  .object({
    enabled: z.boolean().default(true),
    decontaminate: z
      .object({
        ids: z.array(z.string()).default([]).describe('Files of held-out benchmark instance ids, one per line.'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type FilterConfig = z.infer<typeof FilterConfig>;

import { z } from 'zod';

export const FormatTarget = z.enum(['verl', 'slime', 'nemo-rl', 'llamafactory', 'trl', 'axolotl', 'ms-swift']);

/** Trainer-native copies of the export (docs/trainer-formats.md). */
export const FormatsConfig = z
  .object({
    enabled: z.boolean().default(false).describe('Write the export again in each target trainer\'s native form, under <out>/formats/<target>/.'),
    targets: z
      .array(FormatTarget)
      .default([...FormatTarget.options])
      .describe('Which trainers: verl, slime, nemo-rl, llamafactory, trl, axolotl, ms-swift.'),
  })
  .strict();

export type FormatTarget = z.infer<typeof FormatTarget>;
export type FormatsConfig = z.infer<typeof FormatsConfig>;

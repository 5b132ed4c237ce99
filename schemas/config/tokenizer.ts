import { z } from 'zod';

/**
 * How tokens are counted. Counting characters is not counting tokens: length limits and the teacher's
 * prompt budget use a real tokenizer. `huggingface` loads the student's own tokenizer.json (Qwen,
 * Llama, ...) from a local folder; `tiktoken` uses an encoding bundled with js-tiktoken, so the
 * sample build and tests run offline with no file to fetch.
 */
export const TokenizerConfig = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('tiktoken'),
      encoding: z.enum(['o200k_base', 'cl100k_base']).default('o200k_base'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('huggingface'),
      path: z.string().min(1).describe('Folder holding tokenizer.json (and optionally tokenizer_config.json).'),
    })
    .strict(),
]);

export type TokenizerConfig = z.infer<typeof TokenizerConfig>;

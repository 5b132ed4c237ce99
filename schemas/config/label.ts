import { z } from 'zod';

export const TeacherConfig = z
  .object({
    base_url: z.string().url().nullable().default(null).describe('OpenAI-compatible endpoint; null uses the heuristic labeler.'),
    model: z.string().nullable().default(null),
    api_key_env: z.string().default('OPENAI_API_KEY').describe('Name of the environment variable holding the key (never the key itself).'),
  })
  .strict();

export const LabelConfig = z
  .object({
    enabled: z.boolean().default(true),
    teacher: TeacherConfig.prefault({}),
    cache_dir: z.string().default('data/cache/teacher').describe('Response cache shared across runs.'),
  })
  .strict();

export type TeacherConfig = z.infer<typeof TeacherConfig>;
export type LabelConfig = z.infer<typeof LabelConfig>;

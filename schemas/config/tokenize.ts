import { z } from 'zod';

/**
 * The tokenize stage (docs/tokenized.md): renders every exported row with the student's own chat
 * template and tokenizer and writes `input_ids` / `labels` / `attention_mask` shards whose labels
 * train exactly the assistant turns marked `loss: true`.
 */
export const TokenizeConfig = z
  .object({
    enabled: z.boolean().default(true).describe('false: write no tokenized shards. The stage also does nothing when no Hugging Face tokenizer folder is configured.'),
    tokenizer: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe("Folder with tokenizer.json and tokenizer_config.json (with its chat_template); null: the pipeline's `tokenizer.path` when its kind is huggingface."),
    max_seq_len: z
      .number()
      .int()
      .positive()
      .nullable()
      .default(null)
      .describe('Longer rows are cut after their last trained token when that fits, else rejected (too-long-for-max-seq-len); null: no limit.'),
    packing: z.boolean().default(false).describe('Also write packed/ shards: rows packed to max_seq_len with position_ids restarting at 0 per row (padding-free form).'),
    chat_template_kwargs: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('Extra variables handed to the chat template, as apply_chat_template(**kwargs) does (e.g. enable_thinking).'),
    tool_arguments: z
      .enum(['auto', 'string', 'object'])
      .default('auto')
      .describe('How tool-call arguments reach the template: the JSON string as exported, or parsed to an object; auto picks object only for templates that apply tojson to arguments without testing for a string.'),
    end_of_turn: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe("The text that ends an assistant turn (trained with it); null: the tokenizer's eos_token."),
    shard_max_rows: z.number().int().positive().default(5000).describe('Rows per tokenized shard.'),
    row_group_rows: z.number().int().positive().default(256),
  })
  .strict()
  .refine((c) => !c.packing || c.max_seq_len !== null, { message: 'packing needs max_seq_len', path: ['packing'] });

export type TokenizeConfig = z.infer<typeof TokenizeConfig>;

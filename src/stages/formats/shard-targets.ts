import { bump, type TargetWriter } from './target.js';
import type { Conversation } from './conversation.js';

// axolotl and ms-swift read the export's shards as they are (per-message `loss`): their folders hold only
// a README with the config lines and what each trainer does with the columns, counted on this export.

const validJson = (s: string) => {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
};

function observeCommon(stats: Record<string, number>, c: Conversation): void {
  bump(stats, 'rows');
  if (c.messages.some((m) => m.role === 'assistant' && m.reasoning_content)) bump(stats, 'rows_with_reasoning');
  if (c.messages.some((m) => m.tool_calls?.some((t) => !validJson(t.function.arguments)))) bump(stats, 'rows_with_invalid_tool_arguments');
  if (c.trimmed) bump(stats, 'rows_with_trailing_untrained_messages');
}

/**
 * axolotl (axolotl-ai-cloud/axolotl) `src/axolotl/prompt_strategies/chat_template.py`: a message's
 * `message_field_training` value sets its `training` flag; `tools` may be a JSON string; tool-call
 * arguments given as strings are parsed with json.loads, which raises on text that is not JSON.
 */
export function axolotlWriter(): TargetWriter {
  const stats: Record<string, number> = {};
  return {
    name: 'axolotl',
    stats,
    reference: true,
    observe: (c) => observeCommon(stats, c),
    write: async () => null,
    async close() {
      return {
        files: [],
        card: `# axolotl

axolotl reads the export's shards as they are (\`../../export/data/train-*.parquet\`): its \`chat_template\` strategy takes a
per-message training flag from the field named by \`message_field_training\` (\`src/axolotl/prompt_strategies/chat_template.py\`).
\`loss: true\` trains a turn, \`false\` masks it, \`null\` (system, user, tool) falls back to \`roles_to_train\`.

\`\`\`yaml
chat_template: tokenizer_default
datasets:
  - path: path/to/export
    data_files: data/train-*.parquet
    ds_type: parquet
    type: chat_template
    field_messages: messages
    field_tools: tools                 # a JSON string: axolotl parses it
    field_thinking: reasoning_content  # kept apart from content, rendered by the template
    message_property_mappings:
      role: role
      content: content
    message_field_training: loss
    roles_to_train: ["assistant"]
    train_on_eos: turn
\`\`\`

On this export (${stats['rows'] ?? 0} rows):
- ${stats['rows_with_invalid_tool_arguments'] ?? 0} rows have a tool call whose \`arguments\` is not valid JSON: axolotl's \`json.loads\` raises on
  them. Enable the filter's \`malformed\` rule (\`filter.malformed\`) to drop such runs, or use the tokenized shards.
- ${stats['rows_with_reasoning'] ?? 0} rows have assistant reasoning (\`reasoning_content\`), rendered where the template places it.
- ${stats['rows_with_trailing_untrained_messages'] ?? 0} rows end with messages after their last trained turn (masked; they only cost compute).
`,
      };
    },
  };
}

/**
 * ms-swift (modelscope/ms-swift): `swift/dataset/preprocessor/core.py` (_check_messages keeps only role,
 * content, loss and loss_scale of each message) and `swift/template/template_inputs.py`
 * (normalize_openai_tool_calls turns OpenAI tool_calls into `tool_call` messages, carrying `loss`).
 */
export function msSwiftWriter(): TargetWriter {
  const stats: Record<string, number> = {};
  return {
    name: 'ms-swift',
    stats,
    reference: true,
    observe: (c) => observeCommon(stats, c),
    write: async () => null,
    async close() {
      const reasoning = stats['rows_with_reasoning'] ?? 0;
      return {
        files: [],
        card: `# ms-swift

ms-swift reads the export's shards as they are (\`../../export/data/train-*.parquet\`): a message's \`loss\` key is native
(\`true\` trained, \`false\` masked, \`null\` the default for its role). OpenAI \`tool_calls\` become \`tool_call\` messages that keep
the turn's \`loss\` (\`swift/template/template_inputs.py\`, \`normalize_openai_tool_calls\`).

\`\`\`bash
swift sft \\
  --model Qwen/Qwen2.5-7B-Instruct \\
  --train_type lora \\
  --dataset path/to/export/data/train-00000-of-00001.parquet \\
  --max_length 32768
\`\`\`

**Reasoning is dropped.** ms-swift keeps only \`role\`, \`content\`, \`loss\` and \`loss_scale\` of each message
(\`swift/dataset/preprocessor/core.py\`, \`_check_messages\`), so \`reasoning_content\` is silently discarded. On this export
${reasoning} of ${stats['rows'] ?? 0} rows have assistant reasoning${reasoning ? ': ms-swift trains those turns without it. trajpipe does not fold it into `content` (where it goes is the chat template\'s choice, e.g. Qwen3\'s `<think>` block); for reasoning data use the tokenized shards or slime\'s JSON lines' : ', so nothing is lost here'}.

${stats['rows_with_trailing_untrained_messages'] ?? 0} rows end with messages after their last trained turn (masked; they only cost compute).
`,
      };
    },
  };
}

import { join } from 'node:path';
import { bump, type TargetWriter } from './target.js';
import { openAiMessage, type Conversation } from './conversation.js';
import { JsonlOutput } from './jsonl-file.js';

/**
 * NeMo-RL SFT (NVIDIA-NeMo/RL): `nemo_rl/data/datasets/response_datasets/oai_format_dataset.py`
 * (OpenAIFormatDataset: JSON lines, `messages` and `tools` keys, asserts the last message is an
 * assistant's) and `nemo_rl/data/llm_message_utils.py` (add_loss_mask_to_message_log: every message of a
 * role in roles_to_train_on carries loss). No per-message mask: only rows whose assistant turns are all
 * trained are exact, so only those are written.
 */
export function nemoRlWriter(dir: string): TargetWriter {
  const out = new JsonlOutput(join(dir, 'train.jsonl'));
  const stats: Record<string, number> = {};
  return {
    name: 'nemo-rl',
    stats,
    async write(c: Conversation) {
      if (!c.allAssistantTrained) {
        return {
          reason: 'nemo-rl-masked-assistant-turn',
          message: `Row ${c.id} (task ${c.task_id}) has ${c.assistantTurns - c.trainedTurns} untrained assistant turn(s) before its last trained one; NeMo-RL trains every assistant turn, so it is not written (use the tokenized shards).`,
        };
      }
      if (c.trimmed) bump(stats, 'rows_trimmed');
      await out.write({ messages: c.messages.map(openAiMessage), ...(c.tools ? { tools: c.tools } : {}) });
      return null;
    },
    async close() {
      const files = await out.close();
      const rows = files[0]?.records ?? 0;
      return {
        files,
        card: `# NeMo-RL

\`train.jsonl\`: ${rows} rows for NeMo-RL's \`OpenAIFormatDataset\` (\`nemo_rl/data/datasets/response_datasets/oai_format_dataset.py\`):
\`messages\` in OpenAI form (null keys left out) and \`tools\` where the harness recorded them.

- NeMo-RL asserts that the last message is an assistant's: messages after the last trained turn are dropped
  (${stats['rows_trimmed'] ?? 0} rows; they carry no loss and cannot change the loss on earlier tokens).
- NeMo-RL trains **every** assistant turn (\`add_loss_mask_to_message_log\`, \`roles_to_train_on: ["assistant"]\`) and has no
  per-message mask, so a row is written only when all its assistant turns are trained. Rows with an untrained assistant turn
  before a trained one are not written here; they are counted in \`../manifest.json\` and listed in \`../rejects.jsonl\`
  (\`nemo-rl-masked-assistant-turn\`). Train those from the tokenized shards (\`labels\` = -100 on masked turns).
- Tool specs differ between harnesses: load with \`use_preserving_dataset: true\`, or \`datasets\` pads every spec with the other
  specs' keys as null.

\`\`\`yaml
data:
  train:
    dataset_name: openai_format
    data_path: path/to/formats/nemo-rl/train.jsonl
    chat_key: messages
    tool_key: tools
    use_preserving_dataset: true   # tool specs of different shapes (docs/guides/sft.md)
\`\`\`
`,
      };
    },
  };
}

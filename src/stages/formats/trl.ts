import { join } from 'node:path';
import { bump, type TargetWriter } from './target.js';
import { openAiMessage, type Conversation } from './conversation.js';
import { JsonlOutput } from './jsonl-file.js';

/**
 * TRL (huggingface/trl) `trl/trainer/sft_trainer.py`: a conversational prompt/completion example is trained
 * on the completion only (completion_only_loss defaults to true when both keys exist), and `tools` may be a
 * JSON string (json.loads before apply_chat_template). That is exact only when the one trained turn is the
 * last message; `assistant_only_loss` would train every assistant turn, so multi-turn rows go to the
 * tokenized shards instead.
 */
export function trlWriter(dir: string): TargetWriter {
  const out = new JsonlOutput(join(dir, 'train.jsonl'));
  const stats: Record<string, number> = {};
  return {
    name: 'trl',
    stats,
    async write(c: Conversation) {
      const last = c.messages.length - 1;
      const trainedElsewhere = c.messages.some((m, i) => i !== last && m.loss === true);
      if (trainedElsewhere) {
        return {
          reason: 'trl-several-trained-turns',
          message: `Row ${c.id} (task ${c.task_id}) trains ${c.trainedTurns} assistant turns; TRL's prompt/completion trains only the completion, so it is not written (use the tokenized shards).`,
        };
      }
      if (c.trimmed) bump(stats, 'rows_trimmed');
      const msgs = c.messages.map(openAiMessage);
      await out.write({ id: c.id, prompt: msgs.slice(0, last), completion: msgs.slice(last), tools: c.tools ? JSON.stringify(c.tools) : null });
      return null;
    },
    async close() {
      const files = await out.close();
      const rows = files[0]?.records ?? 0;
      return {
        files,
        card: `# TRL

**Most rows are not here, on purpose.** TRL's \`SFTTrainer\` has two ways to limit the loss: \`completion_only_loss\` on
prompt/completion data (loss on the completion only) and \`assistant_only_loss\` on conversations (loss on **every** assistant
turn, and only with a chat template that has \`{% generation %}\` markers). Neither can mask one assistant turn and train another,
so neither can express a failed run's "trained up to the peak" or a strict segment.

- \`train.jsonl\` (${rows} rows): the rows where the trained turn is exactly one, the last message. They are written as
  conversational prompt/completion (\`prompt\`: the messages before it, \`completion\`: that turn; \`tools\` a JSON string, which
  \`trl/trainer/sft_trainer.py\` parses), and the completion-only loss is then exactly the export's mask.
- Every other row (more than one trained turn) is listed in \`../rejects.jsonl\` as \`trl-several-trained-turns\`. Train them from
  the tokenized shards (the \`tokenize\` stage's output beside the export: \`input_ids\`, \`labels\` with -100 on every untrained
  token), which TRL takes as they are.
- \`assistant_only_loss=True\` on the export's \`messages\` is exact only when every assistant turn is trained (resolved runs, and
  failed runs cut after their span by the default \`segment.keep_after_span: false\`); with \`keep_after_span: true\` it would
  train the masked turns after the peak. trajpipe never writes such a file.

\`\`\`python
from datasets import load_dataset
from trl import SFTConfig, SFTTrainer

ds = load_dataset("json", data_files="path/to/formats/trl/train.jsonl", split="train")
trainer = SFTTrainer(model="Qwen/Qwen2.5-7B-Instruct", train_dataset=ds,
                     args=SFTConfig(output_dir="out", completion_only_loss=True, max_length=32768))
trainer.train()
\`\`\`
`,
      };
    },
  };
}

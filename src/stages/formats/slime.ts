import { join } from 'node:path';
import { bump, type TargetWriter } from './target.js';
import { openAiMessage, type Conversation } from './conversation.js';
import { JsonlOutput } from './jsonl-file.js';

/**
 * slime SFT (THUDM/slime): `slime/utils/data.py` (Dataset: `tools` a list or a JSON string, never null,
 * `metadata` a dict it writes `tools` into) and `slime/utils/mask_utils.py` (MultiTurnLossMaskGenerator:
 * a message whose `step_loss_mask` is not 1 gets no loss). Per-message masks are exact here.
 */
export function slimeWriter(dir: string): TargetWriter {
  const out = new JsonlOutput(join(dir, 'train.jsonl'));
  const stats: Record<string, number> = {};
  return {
    name: 'slime',
    stats,
    async write(c: Conversation) {
      if (c.trimmed) bump(stats, 'rows_trimmed');
      if (!c.tools) bump(stats, 'rows_without_tools');
      await out.write({
        id: c.id,
        messages: c.messages.map((m) => ({ ...openAiMessage(m), step_loss_mask: m.loss === true ? 1 : 0 })),
        tools: c.tools ?? [],
        metadata: { ...c.metadata, id: c.id, task_id: c.task_id, outcome: c.outcome, source: c.source, teacher_model: c.teacher_model },
      });
      return null;
    },
    async close() {
      const files = await out.close();
      const rows = files[0]?.records ?? 0;
      return {
        files,
        card: `# slime

\`train.jsonl\`: ${rows} rows, one conversation a line, for slime's SFT rollout (\`slime/rollout/sft_rollout.py\`).

- \`messages\`: OpenAI chat messages (\`tool_calls[].function.arguments\` is the JSON string the model wrote; null keys left out),
  each with **\`step_loss_mask\`**: 1 on a trained assistant turn, 0 on every other message. slime's
  \`MultiTurnLossMaskGenerator\` (\`slime/utils/mask_utils.py\`) zeroes the loss of any message whose \`step_loss_mask\` is not 1,
  so the per-message masks of the export are kept exactly.
- \`tools\`: the function specs as a list (\`[]\` when the harness did not record them: ${stats['rows_without_tools'] ?? 0} rows), never null,
  because slime asserts a list under \`--tool-key tools\`.
- \`metadata\`: an object (task statement, exit status, source file, ...), not a JSON string: slime writes \`tools\` into it.
- Messages after the last trained turn are dropped (${stats['rows_trimmed'] ?? 0} rows): they carry no loss and, with causal
  attention, cannot change the loss on earlier tokens.

\`\`\`bash
python train.py \\
  --prompt-data path/to/formats/slime/train.jsonl \\
  --input-key messages --tool-key tools --metadata-key metadata \\
  --rollout-function-path slime.rollout.sft_rollout.generate_rollout \\
  --loss-type sft_loss --loss-mask-type qwen3 --calculate-per-token-loss \\
  --disable-compute-advantages-and-returns --debug-train-only
\`\`\`

Pick \`--loss-mask-type\` for your model's chat template (\`qwen\`, \`qwen3\`, \`qwen3_5\`, \`distill_qwen\`).
`,
      };
    },
  };
}

import type { SchemaElement } from 'hyparquet';
import { ShardWriter } from '../../io/parquet/shard-writer.js';
import { PACKAGE_VERSION } from '../../runner/version.js';
import { bump, type TargetWriter } from './target.js';
import type { Conversation } from './conversation.js';
import { conform, finalize, merge, schemaElements, typeOf, type NestedType } from './nested-type.js';

/**
 * veRL multi-turn SFT (volcengine/verl): `verl/utils/dataset/multiturn_sft_dataset.py` (MultiTurnSFTDataset:
 * pandas reads the Parquet, `messages` and `tools` must be nested lists, not JSON strings; every assistant
 * message carries loss, there is no per-message mask). Only rows whose assistant turns are all trained are exact.
 */

const str = (name: string, repetition_type: 'REQUIRED' | 'OPTIONAL'): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  logical_type: { type: 'STRING' },
  repetition_type,
});

const MESSAGES: SchemaElement[] = [
  { name: 'messages', repetition_type: 'REQUIRED', converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'REQUIRED', num_children: 6 },
  str('role', 'REQUIRED'),
  str('content', 'REQUIRED'),
  str('reasoning_content', 'OPTIONAL'),
  { name: 'tool_calls', repetition_type: 'OPTIONAL', converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'REQUIRED', num_children: 3 },
  str('id', 'REQUIRED'),
  str('type', 'REQUIRED'),
  { name: 'function', repetition_type: 'REQUIRED', num_children: 2 },
  str('name', 'REQUIRED'),
  str('arguments', 'REQUIRED'),
  str('tool_call_id', 'OPTIONAL'),
  str('name', 'OPTIONAL'),
];

export const VERL_COLUMNS = ['id', 'task_id', 'outcome', 'messages', 'tools'] as const;

export function verlSchema(tools: NestedType): SchemaElement[] {
  return [
    { name: 'root', num_children: VERL_COLUMNS.length },
    str('id', 'REQUIRED'),
    str('task_id', 'REQUIRED'),
    str('outcome', 'REQUIRED'),
    ...MESSAGES,
    ...schemaElements('tools', tools, 'REQUIRED'),
  ];
}

export function verlWriter(dir: string, opts: { maxRows: number; zstdLevel: number }): TargetWriter {
  let toolType: NestedType = { kind: 'list', element: { kind: 'null' } };
  let shards: ShardWriter | null = null;
  const counter = { padded: 0, asJson: 0 };
  const stats: Record<string, number> = {};
  let written = 0;
  return {
    name: 'verl',
    stats,
    observe(c: Conversation) {
      toolType = merge(toolType, typeOf(c.tools ?? []));
    },
    async write(c: Conversation) {
      if (!c.allAssistantTrained) {
        return {
          reason: 'verl-masked-assistant-turn',
          message: `Row ${c.id} (task ${c.task_id}) has ${c.assistantTurns - c.trainedTurns} untrained assistant turn(s) before its last trained one; veRL's MultiTurnSFTDataset trains every assistant turn, so it is not written (use the tokenized shards).`,
        };
      }
      const final = finalize(toolType);
      shards ??= new ShardWriter({
        dir,
        prefix: 'train',
        schema: verlSchema(final),
        columns: VERL_COLUMNS,
        maxRows: opts.maxRows,
        targetBytes: 256 * 1024 * 1024,
        rowGroupRows: 64,
        rowGroupBytes: 64 * 1024 * 1024,
        zstdLevel: opts.zstdLevel,
        kvMetadata: [{ key: 'trajpipe.pipeline_version', value: PACKAGE_VERSION }],
        createdBy: `trajpipe ${PACKAGE_VERSION} (hyparquet-writer)`,
      });
      if (c.trimmed) bump(stats, 'rows_trimmed');
      const before = counter.padded + counter.asJson;
      const tools = conform(c.tools ?? [], final, counter);
      if (counter.padded + counter.asJson > before) bump(stats, 'rows_with_padded_tools');
      const messages = c.messages.map((m) => ({
        role: m.role,
        content: m.content,
        reasoning_content: m.reasoning_content,
        tool_calls: m.tool_calls,
        tool_call_id: m.tool_call_id,
        name: m.name,
      }));
      await shards.write({ id: c.id, task_id: c.task_id, outcome: c.outcome, messages, tools }, messages.reduce((a, m) => a + m.content.length + 64, 256));
      written++;
      return null;
    },
    async close() {
      const files = shards ? await shards.close() : [];
      stats['tool_keys_padded_with_null'] = counter.padded;
      stats['tool_values_kept_as_json_text'] = counter.asJson;
      return { files, card: verlCard(written, stats, files.map((f) => f.path)) };
    },
  };
}

function verlCard(rows: number, stats: Record<string, number>, files: string[]): string {
  const list = files.length === 1 ? `path/to/formats/verl/${files[0]}` : `"[${files.map((f) => `path/to/formats/verl/${f}`).join(',')}]"`;
  return `# veRL multi-turn SFT

\`train-*.parquet\`: ${rows} rows for veRL's \`MultiTurnSFTDataset\` (\`verl/utils/dataset/multiturn_sft_dataset.py\`).

- \`messages\`: a nested list of structs (\`role\`, \`content\`, \`reasoning_content\`, \`tool_calls\`, \`tool_call_id\`, \`name\`), not a JSON string.
- \`tools\`: a nested list of the function specs (\`[]\` when the harness did not record them, never null), passed to
  \`apply_chat_template(tools=...)\` by veRL.
- veRL trains **every** assistant message (it has no per-message mask), so a row is written only when all its assistant turns
  are trained (with the default cut after the trained span, that is every row). Rows with an untrained assistant turn are not
  written; they are listed in \`../rejects.jsonl\` as \`verl-masked-assistant-turn\`: train them from the tokenized shards.
- Messages after the last trained turn are dropped (${stats['rows_trimmed'] ?? 0} rows): no loss, and no effect on earlier tokens.

**What Parquet changes in the tools.** A Parquet column has one type, so every tool spec becomes a struct with the union of all
specs' keys; a key a spec does not have reads back as \`None\` (${stats['tool_keys_padded_with_null'] ?? 0} keys in
${stats['rows_with_padded_tools'] ?? 0} rows), and a template that renders \`tools | tojson\` shows it as \`null\`. pandas, \`datasets\`
and veRL's own test data (\`tests/utils/dataset/test_multiturn_sft_dataset_on_cpu.py\`) behave the same way. Values whose types
disagree between specs are kept as JSON text (${stats['tool_values_kept_as_json_text'] ?? 0}). Messages likewise carry every key,
null where unused: templates that test \`'tool_calls' in message\` (rather than its value) see a null. If that matters for your
template, use the tokenized shards or slime's JSON lines.

\`\`\`bash
torchrun --nproc_per_node=8 -m verl.trainer.fsdp_sft_trainer \\
  data.train_files=${list} \\
  data.multiturn.enable=true \\
  data.multiturn.messages_key=messages \\
  data.multiturn.tools_key=tools \\
  data.max_length=32768 data.truncation=error \\
  model.partial_pretrain=Qwen/Qwen2.5-7B-Instruct
\`\`\`

veRL tokenizes message by message and checks that the result equals the whole conversation rendered at once; templates that
rewrite earlier turns (Qwen3 strips past reasoning) fail that check unless \`ignore_input_ids_mismatch\` is set (\`verl/trainer/config/sft_trainer_engine.yaml\`), and then
train on a render that differs from inference: prefer the tokenized shards for such templates.
`;
}

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SftMessage } from '../../../schemas/index.js';
import { bump, type Skip, type TargetWriter } from './target.js';
import type { Conversation } from './conversation.js';
import { JsonlOutput } from './jsonl-file.js';

/**
 * LLaMA-Factory ShareGPT (hiyouga/LLaMA-Factory): `src/llamafactory/data/converter.py`
 * (SharegptDatasetConverter: after an optional leading system turn, human/observation at even indices and
 * gpt/function_call at odd ones, an even count, else the example is skipped), `src/llamafactory/data/formatter.py`
 * (FunctionFormatter: a function_call value is text plus `<tool_call>` JSON `{"name", "arguments"}` with arguments
 * an object, several calls as one JSON list) and `src/llamafactory/data/processor/supervised.py` (every
 * assistant turn is trained; `mask_history` keeps only the last). No per-message mask.
 */

export const LLAMAFACTORY_DATASET = 'trajpipe_sft';
/** The value of dataset_info.json: how LLaMA-Factory finds the columns and role tags of train.jsonl. */
export const DATASET_INFO = {
  [LLAMAFACTORY_DATASET]: {
    file_name: 'train.jsonl',
    formatting: 'sharegpt',
    columns: { messages: 'conversations', system: 'system', tools: 'tools' },
    tags: { role_tag: 'from', content_tag: 'value', user_tag: 'human', assistant_tag: 'gpt', observation_tag: 'observation', function_tag: 'function_call', system_tag: 'system' },
  },
};

type Turn = { from: 'human' | 'gpt' | 'function_call' | 'observation'; value: string };

/** Reasoning in LLaMA-Factory's own thought form (template.py's default thought_words). */
const withThought = (m: SftMessage, text: string) => (m.reasoning_content ? `<think>\n${m.reasoning_content}\n</think>\n\n${text}` : text);

function assistantTurn(m: SftMessage): Turn | Skip {
  if (!m.tool_calls || m.tool_calls.length === 0) return { from: 'gpt', value: withThought(m, m.content) };
  const calls: { name: string; arguments: unknown }[] = [];
  for (const c of m.tool_calls) {
    try {
      calls.push({ name: c.function.name, arguments: JSON.parse(c.function.arguments) });
    } catch {
      return { reason: 'llamafactory-invalid-tool-arguments', message: `a tool call's arguments are not JSON, and LLaMA-Factory re-encodes them as an object` };
    }
  }
  const json = JSON.stringify(calls.length === 1 ? calls[0] : calls);
  return { from: 'function_call', value: withThought(m, `${m.content}<tool_call>${json}</tool_call>`) };
}

/** ShareGPT turns for a conversation, or why it cannot be one. */
export function toShareGpt(c: Conversation, stats: Record<string, number>): { system: string; conversations: Turn[] } | Skip {
  const skip = (reason: string, why: string): Skip => ({ reason, message: `Row ${c.id} (task ${c.task_id}) is not written for LLaMA-Factory: ${why}.` });
  if (!c.allAssistantTrained) return skip('llamafactory-masked-assistant-turn', 'it has an untrained assistant turn, and LLaMA-Factory trains every assistant turn (use the tokenized shards)');
  let msgs = c.messages;
  let system = '';
  if (msgs[0]?.role === 'system') {
    system = msgs[0].content;
    msgs = msgs.slice(1);
  }
  const turns: Turn[] = [];
  let merged = false;
  for (const m of msgs) {
    const prev = turns.at(-1);
    if (m.role === 'system') return skip('llamafactory-late-system-message', 'a system message after the first turn has no ShareGPT place');
    if (m.role === 'user' && prev?.from === 'human') {
      // Two user messages in a row (a task split over two messages): one human turn, counted and said in the card.
      prev.value += `\n\n${m.content}`;
      merged = true;
      continue;
    }
    const t = m.role === 'assistant' ? assistantTurn(m) : { from: m.role === 'user' ? ('human' as const) : ('observation' as const), value: m.content };
    if ('reason' in t) return skip(t.reason, t.message);
    const odd = turns.length % 2 === 1;
    if ((t.from === 'gpt' || t.from === 'function_call') !== odd) {
      return skip('llamafactory-not-alternating', `its ${m.role} message at turn ${turns.length} breaks ShareGPT's alternation of human/observation and gpt/function_call`);
    }
    turns.push(t);
  }
  if (merged) bump(stats, 'rows_with_merged_user_messages');
  if (c.trimmed) bump(stats, 'rows_trimmed');
  if (c.messages.some((m) => m.reasoning_content)) bump(stats, 'rows_with_reasoning_as_think_block');
  return { system, conversations: turns };
}

export function llamaFactoryWriter(dir: string): TargetWriter {
  const out = new JsonlOutput(join(dir, 'train.jsonl'));
  const stats: Record<string, number> = {};
  return {
    name: 'llamafactory',
    stats,
    async write(c: Conversation) {
      const r = toShareGpt(c, stats);
      if ('reason' in r) return r;
      await out.write({ conversations: r.conversations, system: r.system, tools: c.tools ? JSON.stringify(c.tools) : '' });
      return null;
    },
    async close() {
      const files = await out.close();
      await writeFile(join(dir, 'dataset_info.json'), JSON.stringify(DATASET_INFO, null, 2) + '\n');
      const rows = files[0]?.records ?? 0;
      return {
        files,
        card: `# LLaMA-Factory

\`train.jsonl\` (${rows} rows) in the ShareGPT layout, and \`dataset_info.json\` declaring it as dataset \`${LLAMAFACTORY_DATASET}\`
(\`columns\`: conversations, system, tools; \`tags\`: from/value, human, gpt, function_call, observation, system).

How each message is mapped (\`src/llamafactory/data/converter.py\`, \`formatter.py\`):
- a leading system message → the \`system\` column; user → \`human\`; tool → \`observation\`;
- an assistant message without tool calls → \`gpt\`; with tool calls → \`function_call\`, whose value is the assistant's text
  followed by \`<tool_call>{"name": ..., "arguments": {...}}</tool_call>\` (several calls as one JSON list): LLaMA-Factory's
  FunctionFormatter keeps the text before the call, and re-renders the call in the template's own tool-call form;
- reasoning (\`reasoning_content\`) is written in LLaMA-Factory's thought form, \`<think>\\n...\\n</think>\\n\\n\` before the text
  (${stats['rows_with_reasoning_as_think_block'] ?? 0} rows); pick a template whose \`thought_words\` are these;
- two user messages in a row become one \`human\` turn joined by a blank line (${stats['rows_with_merged_user_messages'] ?? 0} rows):
  ShareGPT requires alternation, so the prompt then differs from the two-message original by that separator;
- messages after the last trained turn are dropped (${stats['rows_trimmed'] ?? 0} rows), so every row ends with an assistant turn.

**Loss masks.** LLaMA-Factory trains every assistant turn (\`mask_history: true\` trains only the last); it cannot mask a turn in
the middle. A row is written only when all its assistant turns are trained; the others (and rows that cannot alternate, or whose
tool-call arguments are not JSON) are listed in \`../rejects.jsonl\` with a \`llamafactory-*\` reason. Train those from the
tokenized shards. Do not set \`mask_history\` (it would drop trained turns) or \`train_on_prompt\`.

\`\`\`yaml
### examples/train_lora/trajpipe_sft.yaml
model_name_or_path: Qwen/Qwen2.5-7B-Instruct
stage: sft
do_train: true
finetuning_type: lora
dataset: ${LLAMAFACTORY_DATASET}
dataset_dir: path/to/formats/llamafactory   # the folder holding dataset_info.json
template: qwen
cutoff_len: 32768
output_dir: saves/trajpipe-sft
\`\`\`
`,
      };
    },
  };
}

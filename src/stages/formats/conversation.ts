import type { SftMessage } from '../../../schemas/index.js';

/** An exported row as the format writers see it: tools and metadata parsed, messages trimmed. */
export interface Conversation {
  id: string;
  task_id: string;
  outcome: string;
  source: string;
  teacher_model: string | null;
  /** Messages up to and including the last trained assistant turn. */
  messages: SftMessage[];
  /** Messages after the last trained assistant turn that were dropped (trailing user/tool turns, masked turns). */
  trimmed: number;
  tools: Record<string, unknown>[] | null;
  metadata: Record<string, unknown>;
  /** Every assistant turn left is trained: formats that train all assistant turns are exact on this row. */
  allAssistantTrained: boolean;
  assistantTurns: number;
  trainedTurns: number;
}

function parseJson(text: string | null, what: string, id: string): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`The ${what} of exported row ${id} is not valid JSON: the export shards were edited by hand.`);
  }
}

/**
 * Messages after the last trained assistant turn carry no loss, and with causal attention they cannot
 * change the loss on earlier tokens, so dropping them changes no gradient; it saves their tokens and gives
 * the conversation the assistant ending that NeMo-RL and LLaMA-Factory require.
 */
export function toConversation(row: Record<string, unknown>): Conversation {
  const id = row.id as string;
  const all = row.messages as SftMessage[];
  let last = -1;
  all.forEach((m, i) => m.loss === true && (last = i));
  const messages = all.slice(0, last + 1);
  const assistant = messages.filter((m) => m.role === 'assistant');
  const tools = parseJson(row.tools as string | null, 'tools column', id);
  const metadata = parseJson(row.metadata as string, 'metadata column', id);
  return {
    id,
    task_id: row.task_id as string,
    outcome: row.outcome as string,
    source: row.source as string,
    teacher_model: (row.teacher_model as string | null) ?? null,
    messages,
    trimmed: all.length - messages.length,
    tools: Array.isArray(tools) ? (tools as Record<string, unknown>[]) : null,
    metadata: metadata && typeof metadata === 'object' && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : {},
    allAssistantTrained: assistant.every((m) => m.loss === true),
    assistantTurns: assistant.length,
    trainedTurns: assistant.filter((m) => m.loss === true).length,
  };
}

/** An OpenAI chat message with the keys that are null left out (chat templates test `'key' in message`). */
export function openAiMessage(m: SftMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.content };
  if (m.reasoning_content !== null) out.reasoning_content = m.reasoning_content;
  if (m.tool_calls !== null && m.tool_calls.length) out.tool_calls = m.tool_calls;
  if (m.tool_call_id !== null) out.tool_call_id = m.tool_call_id;
  if (m.name !== null) out.name = m.name;
  return out;
}

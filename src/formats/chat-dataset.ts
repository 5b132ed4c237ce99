import type { Action, Harness, Message } from '../../schemas/index.js';
import { observationFlags } from './flags.js';
import { pickUnknown, toJsonSafe } from './meta.js';
import { contentText, lastFencedBlock, normalizeToolCalls, shellAction, taskStatement, toolCallAction, xmlCallActions } from './text.js';
import { FormatError, isObject, messageAt, str, unplaceableMessage, type AdapterContext, type Draft, type FormatAdapter, type InlineLabel, type Json, type MessageNote } from './types.js';

// Rows of Hugging Face chat datasets (one row = one run), from JSON lines, Parquet or a single-row JSON
// file: SWE-smith `messages` rows (XML calls in text), nebius SWE-agent `trajectory` rows (role "ai",
// fenced text actions, `target`), SWE-Gym / SWE-rebench OpenHands rows (native tool calls), and any
// other OpenAI-style `messages` rows. Column names for the chat, the success flag and the task id are
// configurable; the defaults try the names these datasets use.

const MESSAGE_COLUMNS = ['messages', 'trajectory', 'conversations', 'conversation', 'chat'];
const RESOLVED_COLUMNS = ['resolved', 'target', 'success'];
const TASK_ID_COLUMNS = ['instance_id', 'task_id'];
/** Columns mapped to canonical fields (or deliberately dropped: eval_logs duplicates the evaluation). */
const KNOWN_COLUMNS = ['model', 'model_name', 'patch', 'generated_patch', 'model_patch', 'exit_status', 'tools', 'eval_logs', 'test_result', 'system_prompt'];

const ROLE: Record<string, Message['role']> = {
  system: 'system',
  user: 'user',
  human: 'user',
  assistant: 'assistant',
  ai: 'assistant',
  gpt: 'assistant',
  model: 'assistant',
  tool: 'tool',
  function: 'tool',
  ipython: 'tool',
  observation: 'tool',
};

function roleOf(item: Json): string | null {
  return str(item.role) ?? str(item.from);
}

/** A chat: every item has a known role (a row with an unknown one is not a chat row: unknown-shape, never read without it). */
function isChatItems(v: unknown): v is Json[] {
  return Array.isArray(v) && v.length > 0 && v.every((m) => isObject(m) && roleOf(m) !== null && ROLE[roleOf(m)!.toLowerCase()] !== undefined);
}

function messagesColumn(row: Json, ctx: AdapterContext): string | null {
  const names = ctx.dataset.messages_column ? [ctx.dataset.messages_column] : MESSAGE_COLUMNS;
  return names.find((n) => isChatItems(row[n])) ?? null;
}

export function looksLikeChatRow(v: unknown, ctx: AdapterContext): boolean {
  return isObject(v) && messagesColumn(v, ctx) !== null;
}

/** A success flag as datasets store it: bool, 0/1 (int64 comes back as BigInt from Parquet), or a string. */
export function flagValue(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v) === 1 ? true : Number(v) === 0 ? false : null;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['true', '1', 'yes', 'resolved'].includes(s)) return true;
    if (['false', '0', 'no', 'unresolved'].includes(s)) return false;
  }
  return null;
}

function parseToolsColumn(v: unknown): Record<string, unknown>[] | null {
  let t = v;
  if (typeof t === 'string') {
    try {
      t = JSON.parse(t);
    } catch {
      return null;
    }
  }
  return Array.isArray(t) && t.length && t.every(isObject) ? (toJsonSafe(t) as Record<string, unknown>[]) : null;
}

interface Variant {
  harness: Harness;
  format: string;
  /** Assistant text must hold a fenced command (SWE-agent text actions): no block is a format error. */
  textActions: boolean;
}

function variantOf(row: Json, column: string, items: Json[]): Variant {
  const asText = (m: Json) => contentText(m.content ?? m.text ?? m.value);
  if (column === 'trajectory' && items.some((m) => roleOf(m) === 'ai')) return { harness: 'swe-agent', format: 'hf-nebius-swe-agent', textActions: true };
  const assistants = items.filter((m) => ROLE[roleOf(m)!.toLowerCase()] === 'assistant');
  if (assistants.some((m) => Array.isArray(m.tool_calls) && m.tool_calls.length)) {
    if ('run_id' in row || 'test_result' in row) return { harness: 'openhands', format: 'hf-swe-gym-openhands', textActions: false };
    if ('trajectory_id' in row) return { harness: 'openhands', format: 'hf-swe-rebench-openhands', textActions: false };
  }
  if (assistants.some((m) => asText(m).includes('<function=')) && items.some((m) => asText(m).startsWith('OBSERVATION:'))) {
    return { harness: 'swe-agent', format: 'hf-swe-smith', textActions: false };
  }
  return { harness: 'chat-dataset', format: 'chat-messages', textActions: false };
}

function assistantActions(m: Json, content: string, calls: ReturnType<typeof normalizeToolCalls>, variant: Variant): MessageNote {
  if (calls.length) return { actions: calls.map((c) => toolCallAction(c)) };
  const xml = xmlCallActions(content);
  if (xml.length) return { actions: xml };
  const block = lastFencedBlock(content);
  if (variant.textActions) {
    if (block === null || !block.trim()) return { actions: [], flags: { format_error: true } };
    const a: Action = shellAction(block);
    return { actions: [a], flags: a.kind === 'exit' ? { harness_error: true } : {} };
  }
  return { actions: [] };
}

/** The model an evaluation row's metadata names ({model_name} or {llm_config: {model}}); the column may be a JSON string. */
function metadataModel(raw: unknown): string | null {
  let md = raw;
  if (typeof md === 'string') {
    try {
      md = JSON.parse(md);
    } catch {
      return null;
    }
  }
  if (!isObject(md)) return null;
  return str(md.model_name) ?? (isObject(md.llm_config) ? str(md.llm_config.model) : null);
}

export const chatDataset: FormatAdapter = {
  name: 'chat-dataset',
  detect: looksLikeChatRow,
  convert(value, ctx): Draft {
    if (!isObject(value)) throw new FormatError('unknown-shape', `Record ${ctx.record} of ${ctx.file} is not a dataset row (an object).`);
    const column = messagesColumn(value, ctx);
    if (!column) {
      const tried = ctx.dataset.messages_column ? `"${ctx.dataset.messages_column}"` : MESSAGE_COLUMNS.map((c) => `"${c}"`).join(', ');
      throw new FormatError('unknown-shape', `Record ${ctx.record} of ${ctx.file} has no chat column (tried ${tried}).`);
    }
    const items = value[column] as Json[];
    const variant = variantOf(value, column, items);

    const messages: Message[] = [];
    const notes: MessageNote[] = [];
    let steps = 0;
    for (const [i, item] of items.entries()) {
      const role = ROLE[roleOf(item)!.toLowerCase()];
      if (!role) throw unplaceableMessage(messageAt(ctx, column, i), item);
      const raw = role === 'system' ? item.system_prompt ?? item.content ?? item.text : item.content ?? item.text ?? item.value;
      const content = contentText(raw);
      if (role === 'assistant') {
        const calls = normalizeToolCalls(item.tool_calls, `call_${steps}`, messageAt(ctx, column, i));
        const reasoning = str(item.reasoning_content);
        messages.push({ role, content, ...(reasoning?.trim() ? { reasoning_content: reasoning } : {}), ...(calls.length ? { tool_calls: calls } : {}) });
        notes.push(assistantActions(item, content, calls, variant));
        steps++;
      } else if (role === 'tool') {
        const id = str(item.tool_call_id);
        const name = str(item.name);
        messages.push({ role, content, ...(id ? { tool_call_id: id } : {}), ...(name ? { name } : {}) });
        notes.push({ flags: observationFlags(content) });
      } else {
        messages.push({ role, content });
        notes.push(role === 'user' && steps > 0 ? { flags: observationFlags(content) } : {});
      }
    }
    if (steps === 0) throw new FormatError('empty-run', `Record ${ctx.record} of ${ctx.file} has no assistant turn in column "${column}".`);

    const idCols = ctx.dataset.task_id_column ? [ctx.dataset.task_id_column] : TASK_ID_COLUMNS;
    const idCol = idCols.find((c) => typeof value[c] === 'string' || typeof value[c] === 'number');
    const flagCols = ctx.dataset.resolved_column ? [ctx.dataset.resolved_column] : RESOLVED_COLUMNS;
    const flagCol = flagCols.find((c) => flagValue(value[c]) !== null);
    const inline: InlineLabel | null = flagCol ? { resolved: flagValue(value[flagCol]), source: `row:${flagCol}` } : null;
    const testResult = isObject(value.test_result) ? value.test_result : {};
    const taskMsg = messages.find((m) => m.role === 'user');

    const meta: Json = { messages_column: column };
    if (isObject(testResult.report)) meta.test_report = toJsonSafe(testResult.report);
    const extra = pickUnknown(value, [column, ...(idCol ? [idCol] : []), ...(flagCol ? [flagCol] : []), ...KNOWN_COLUMNS]);
    if (extra) meta.extra = extra;

    return {
      harness: variant.harness,
      format: variant.format,
      task_id: idCol ? String(value[idCol]) : null,
      task: taskStatement(taskMsg?.content ?? ''),
      // SWE-Gym names runs <model>_maxiter_<n>_...: the model is only in the run id. Evaluation rows
      // (ProntoQA-style) name it in a metadata column: model_name, or llm_config.model.
      teacher_model: str(value.model) ?? str(value.model_name) ?? metadataModel(value.metadata) ?? (/^(.+?)_maxiter_/.exec(str(value.run_id) ?? '')?.[1] ?? null),
      messages,
      notes,
      tools: parseToolsColumn(value.tools),
      exit_status: str(value.exit_status),
      submitted_patch: str(value.patch) ?? str(value.generated_patch) ?? str(value.model_patch) ?? str(testResult.git_patch),
      inline_label: inline,
      meta,
    };
  },
};

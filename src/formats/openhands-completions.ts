import { basename, dirname } from 'node:path';
import type { Message } from '../../schemas/index.js';
import { observationFlags } from './flags.js';
import { functionsFromPrompt } from './function-prompt.js';
import { pickUnknown, toJsonSafe } from './meta.js';
import { contentText, normalizeToolCalls, taskStatement, toolCallAction, xmlCallActions } from './text.js';
import { FormatError, isObject, messageAt, str, unplaceableMessage, type Draft, type FormatAdapter, type Json, type MessageNote } from './types.js';

// OpenHands LLM completion logs: one file per LLM call; the last call of a run holds the whole
// conversation as sent plus the reply. The native tool-calling view (fncall_*) is preferred; the text
// view (<function=...> XML in content) is the fallback. The file has no task id, model or outcome:
// the id and model come from the path (trajs/<iid>/<model>-<ts>.json or <iid>__<model>-<ts>.json).

const KNOWN_KEYS = ['messages', 'response', 'fncall_messages', 'fncall_response', 'args', 'kwargs', 'timestamp', 'cost'];

export function looksLikeCompletionLog(v: unknown): v is Json {
  if (!isObject(v)) return false;
  if (Array.isArray(v.fncall_messages)) return true;
  return Array.isArray(v.messages) && isObject(v.response) && ('kwargs' in v || 'args' in v || 'timestamp' in v);
}

/** Task id and model from the file path (see the header comment). */
export function completionPathInfo(file: string): { task_id: string | null; model: string | null } {
  const stem = basename(file).replace(/\.json$/i, '');
  const joined = /^(.*)__(.+?)-(\d{9,}(?:\.\d+)?)$/.exec(stem);
  if (joined) return { task_id: joined[1]!, model: joined[2]! };
  const nested = /^(.+)-(\d{9,}(?:\.\d+)?)$/.exec(stem);
  if (nested) return { task_id: basename(dirname(file)) || null, model: nested[1]! };
  return { task_id: null, model: null };
}

/**
 * The tools the model was offered. Logs of native function calling carry them in `kwargs.tools`. Logs of
 * models called without it (`tool_choice: none`, `stop: ["</function"]`) describe them only in the text
 * view's system prompt, which is what the model really read: the specs are parsed back from there, so
 * the fncall view's short system prompt plus `tools` is what the model saw, in native form.
 */
function offeredTools(v: Json): { tools: Record<string, unknown>[] | null; from: string | null; prompt: string | null } {
  const kwargs = isObject(v.kwargs) ? v.kwargs : {};
  if (Array.isArray(kwargs.tools) && kwargs.tools.some(isObject)) return { tools: toJsonSafe(kwargs.tools.filter(isObject)) as Record<string, unknown>[], from: 'kwargs.tools', prompt: null };
  const first = Array.isArray(v.messages) ? v.messages[0] : null;
  if (!isObject(first) || first.role !== 'system') return { tools: null, from: null, prompt: null };
  const prompt = contentText(first.content);
  const specs = functionsFromPrompt(prompt);
  return specs.length ? { tools: specs as unknown as Record<string, unknown>[], from: 'messages[0] (text-view system prompt)', prompt } : { tools: null, from: null, prompt: null };
}

function firstChoiceMessage(response: unknown): Json | null {
  if (!isObject(response) || !Array.isArray(response.choices)) return null;
  const c = response.choices[0];
  return isObject(c) && isObject(c.message) ? c.message : null;
}

export const openhandsCompletions: FormatAdapter = {
  name: 'openhands-completions',
  detect: looksLikeCompletionLog,
  convert(value, ctx): Draft {
    if (!looksLikeCompletionLog(value)) throw new FormatError('unknown-shape', `Record ${ctx.record} of ${ctx.file} is not an OpenHands completion log.`);
    const v = value;
    const native = Array.isArray(v.fncall_messages);
    const raw = (native ? v.fncall_messages : v.messages) as unknown[];
    const reply = firstChoiceMessage(native ? v.fncall_response : v.response);

    const messages: Message[] = [];
    const notes: MessageNote[] = [];
    let seenTask = false;
    let stepNo = 0;
    const list = native ? 'fncall_messages' : 'messages';
    const pushAssistant = (m: Json, where: string): void => {
      const content = contentText(m.content);
      const calls = normalizeToolCalls(m.tool_calls, `call_${stepNo}`, where);
      const reasoning = str(m.reasoning_content);
      messages.push({ role: 'assistant', content, ...(reasoning?.trim() ? { reasoning_content: reasoning } : {}), ...(calls.length ? { tool_calls: calls } : {}) });
      notes.push({ actions: calls.length ? calls.map((c) => toolCallAction(c)) : xmlCallActions(content) });
      stepNo++;
    };
    for (const [i, m] of raw.entries()) {
      if (!isObject(m)) throw unplaceableMessage(messageAt(ctx, list, i), m);
      const content = contentText(m.content);
      if (m.role === 'system') {
        messages.push({ role: 'system', content });
        notes.push({});
      } else if (m.role === 'user') {
        messages.push({ role: 'user', content });
        // The text view opens with an in-context example: context, not a step of this run.
        const demo = stepNo === 0 && content.includes('START OF EXAMPLE');
        notes.push(demo ? { demo } : seenTask ? { flags: observationFlags(content) } : {});
        if (!demo) seenTask = true;
      } else if (m.role === 'tool') {
        const id = str(m.tool_call_id);
        const name = str(m.name);
        messages.push({ role: 'tool', content, ...(id ? { tool_call_id: id } : {}), ...(name ? { name } : {}) });
        notes.push({ flags: observationFlags(content) });
      } else if (m.role === 'assistant') {
        pushAssistant(m, messageAt(ctx, list, i));
      } else {
        throw unplaceableMessage(messageAt(ctx, list, i), m);
      }
    }
    // The final action exists only in the response.
    if (reply) pushAssistant(reply, `Record ${ctx.record} of ${ctx.file}, ${native ? 'fncall_response' : 'response'}.choices[0].message`);
    if (stepNo === 0) throw new FormatError('empty-run', `Record ${ctx.record} of ${ctx.file} is an OpenHands completion log with no agent turn.`);

    const pathInfo = completionPathInfo(ctx.file);
    const response = isObject(native ? v.fncall_response : v.response) ? ((native ? v.fncall_response : v.response) as Json) : {};
    const taskMsg = messages.find((m, i) => m.role === 'user' && !notes[i]!.demo);
    const meta: Json = { view: native ? 'fncall' : 'text' };
    // The text view keeps its prompt whole in messages (definitions and XML calls are both in the text), so
    // it declares no native tools; the fncall view gets the specs and keeps the long prompt in meta.
    const offered = native ? offeredTools(v) : { tools: null, from: null, prompt: null };
    if (offered.from) meta.tools_from = offered.from;
    if (offered.prompt !== null && offered.prompt !== messages[0]?.content) meta.text_view_system_prompt = offered.prompt;
    if (typeof v.timestamp === 'number') meta.timestamp = v.timestamp;
    if (isObject(response.usage)) meta.usage = toJsonSafe(response.usage);
    const extra = pickUnknown(v, KNOWN_KEYS);
    if (extra) meta.extra = extra;
    return {
      harness: 'openhands',
      format: 'openhands-completions',
      task_id: pathInfo.task_id,
      task: taskStatement(taskMsg?.content ?? ''),
      teacher_model: str(response.model) ?? pathInfo.model,
      messages,
      notes,
      tools: offered.tools,
      exit_status: null,
      submitted_patch: null,
      inline_label: null,
      meta,
    };
  },
};

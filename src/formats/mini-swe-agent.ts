import type { Action, Message } from '../../schemas/index.js';
import { observationFlags } from './flags.js';
import { pickUnknown } from './meta.js';
import { contentText, miniShellAction, normalizeToolCalls, shellAction, taskStatement, toolCallAction } from './text.js';
import { FormatError, isObject, messageAt, str, unplaceableMessage, type Draft, type FormatAdapter, type Json, type MessageNote } from './types.js';

// mini-swe-agent .traj.json: v1 ("mini-swe-agent-1", actions in one ```bash block, everything the
// harness says comes back as a user turn), the older bare list of messages, and v2 ("mini-swe-agent-1.1",
// native tool calls, a final role "exit" message holding the exit status and submission).

const SUBMIT_SENTINEL = /COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT|MINI_SWE_AGENT_FINAL_OUTPUT/;
const KNOWN_KEYS = ['info', 'messages', 'trajectory_format', 'instance_id'];
const KNOWN_INFO = ['exit_status', 'submission', 'model_stats', 'mini_version', 'config'];

function isChatList(v: unknown): v is Json[] {
  return Array.isArray(v) && v.length > 0 && v.every((m) => isObject(m) && typeof m.role === 'string');
}

function looksLikeBareList(v: unknown): v is Json[] {
  if (!isChatList(v)) return false;
  return v.some((m) => {
    const c = typeof m.content === 'string' ? m.content : '';
    return (m.role === 'user' && c.startsWith('<returncode>')) || (m.role === 'assistant' && (c.includes('```mswea_bash_command') || SUBMIT_SENTINEL.test(c)));
  });
}

export function looksLikeMini(v: unknown): boolean {
  if (looksLikeBareList(v)) return true;
  if (!isObject(v) || !isChatList(v.messages)) return false;
  if (typeof v.trajectory_format === 'string') return v.trajectory_format.startsWith('mini-swe-agent');
  return isObject(v.info) && ('mini_version' in v.info || (isObject(v.info.config) && isObject(v.info.config.agent)));
}

/** Provider reasoning the harness kept in the raw response (not the visible THOUGHT text). */
function providerReasoning(m: Json): string | null {
  const direct = str(m.reasoning_content) ?? str(m.reasoning);
  if (direct) return direct;
  const extra = isObject(m.extra) ? m.extra : null;
  const response = extra && isObject(extra.response) ? extra.response : null;
  const choice = response && Array.isArray(response.choices) && isObject(response.choices[0]) ? response.choices[0] : null;
  const msg = choice && isObject(choice.message) ? choice.message : null;
  const r = msg ? str(msg.reasoning_content) ?? str(msg.reasoning) : null;
  return r && r.trim() ? r : null;
}

function responseModel(m: Json): string | null {
  const extra = isObject(m.extra) ? m.extra : null;
  const response = extra && isObject(extra.response) ? extra.response : null;
  return response ? str(response.model) : null;
}

function assistantActions(m: Json, content: string, stepNo: number, where: string): { msg: Message; note: MessageNote } {
  const toolCalls = normalizeToolCalls(m.tool_calls, `call_${stepNo}`, where);
  const reasoning = providerReasoning(m);
  const msg: Message = { role: 'assistant', content, ...(reasoning ? { reasoning_content: reasoning } : {}), ...(toolCalls.length ? { tool_calls: toolCalls } : {}) };
  if (toolCalls.length) {
    const actions: Action[] = toolCalls.map((c) => {
      const a = toolCallAction(c);
      return a.command && SUBMIT_SENTINEL.test(a.command) ? { ...a, kind: 'submit' } : a;
    });
    return { msg, note: { actions } };
  }
  const cmd = miniShellAction(content);
  if (cmd === null) return { msg, note: { actions: [], flags: { format_error: true } } };
  return { msg, note: { actions: [shellAction(cmd, SUBMIT_SENTINEL.test(cmd))] } };
}

export const miniSweAgent: FormatAdapter = {
  name: 'mini-swe-agent',
  detect: looksLikeMini,
  convert(value, ctx): Draft {
    if (!looksLikeMini(value)) throw new FormatError('unknown-shape', `Record ${ctx.record} of ${ctx.file} is not a mini-swe-agent trajectory.`);
    const bare = Array.isArray(value);
    const v: Json = bare ? { messages: value } : (value as Json);
    const raw = v.messages as Json[];
    const info = isObject(v.info) ? v.info : {};
    const config = isObject(info.config) ? info.config : {};
    const v2 = v.trajectory_format === 'mini-swe-agent-1.1' || raw.some((m) => m.role === 'tool' || m.role === 'exit' || Array.isArray(m.tool_calls));

    const messages: Message[] = [];
    const notes: MessageNote[] = [];
    let seenTask = false;
    let stepNo = 0;
    let exitMsg: Json | null = null;
    let model: string | null = null;
    for (const [i, m] of raw.entries()) {
      const content = contentText(m.content);
      if (m.role === 'system') {
        messages.push({ role: 'system', content });
        notes.push({});
      } else if (m.role === 'user') {
        messages.push({ role: 'user', content });
        // The first user turn is the task; every later one is the harness answering the last action.
        notes.push(seenTask ? { flags: observationFlags(content) } : {});
        seenTask = true;
      } else if (m.role === 'tool') {
        const id = str(m.tool_call_id);
        messages.push({ role: 'tool', content, ...(id ? { tool_call_id: id } : {}) });
        notes.push({ flags: observationFlags(content) });
      } else if (m.role === 'assistant') {
        const { msg, note } = assistantActions(m, content, stepNo++, messageAt(ctx, 'messages', i));
        messages.push(msg);
        notes.push(note);
        model ??= responseModel(m);
      } else if (m.role === 'exit') {
        exitMsg = m; // harness bookkeeping, never shown to the model
      } else {
        throw unplaceableMessage(messageAt(ctx, 'messages', i), m);
      }
    }
    if (stepNo === 0) throw new FormatError('empty-run', `Record ${ctx.record} of ${ctx.file} is a mini-swe-agent run with no agent step.`);

    const exitExtra = exitMsg && isObject(exitMsg.extra) ? exitMsg.extra : {};
    const modelCfg = isObject(config.model) ? config.model : {};
    const env = isObject(config.environment) ? config.environment : {};
    const taskMsg = messages.find((m) => m.role === 'user');
    const exitStatus = str(info.exit_status) ?? str(exitExtra.exit_status);

    const meta: Json = {};
    if (isObject(info.model_stats)) meta.model_stats = info.model_stats;
    if (typeof info.mini_version === 'string') meta.mini_version = info.mini_version;
    for (const k of ['agent_type', 'model_type', 'environment_type']) if (typeof config[k] === 'string') meta[k] = config[k];
    if (typeof env.image === 'string') meta.environment_image = env.image;
    if (!exitStatus) meta.unfinished = true;
    const extraInfo = pickUnknown(info, KNOWN_INFO);
    if (extraInfo) meta.info_extra = extraInfo;
    const extra = bare ? null : pickUnknown(v, KNOWN_KEYS);
    if (extra) meta.extra = extra;

    return {
      harness: 'mini-swe-agent',
      format: bare ? 'mini-swe-agent-list' : v2 ? 'mini-swe-agent-2' : 'mini-swe-agent-1',
      task_id: str(v.instance_id),
      task: taskStatement(taskMsg?.content ?? ''),
      teacher_model: str(modelCfg.model_name) ?? model,
      messages,
      notes,
      tools: null,
      exit_status: exitStatus,
      submitted_patch: str(info.submission) ?? str(exitExtra.submission),
      inline_label: null,
      meta,
    };
  },
};

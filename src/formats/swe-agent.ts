import type { Action, Message } from '../../schemas/index.js';
import { observationFlags } from './flags.js';
import { pickUnknown } from './meta.js';
import { contentText, lastFencedBlock, normalizeToolCalls, shellAction, taskStatement, toolCallAction } from './text.js';
import { FormatError, isObject, messageAt, str, unplaceableMessage, type Draft, type FormatAdapter, type Json, type MessageNote } from './types.js';

// SWE-agent .traj files (0.x text actions and 1.x function calling). `history` is what the model saw;
// `trajectory` has one entry per step with the parsed action, so it supplies actions and any final
// steps that a version did not write into history.

const KNOWN_KEYS = ['environment', 'trajectory', 'history', 'info', 'replay_config'];
const KNOWN_INFO = ['exit_status', 'submission', 'model_stats', 'edited_files30', 'edited_files50', 'edited_files70'];
/** Model names SWE-agent uses for runs no model produced. */
const NOT_A_MODEL = new Set(['replay', 'instant_empty_submit', 'human', 'human_thought']);

function parseMaybeJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function isHistoryMessage(m: unknown): m is Json {
  return isObject(m) && typeof m.role === 'string';
}

export function looksLikeSweAgent(v: unknown): v is Json {
  if (!isObject(v) || !Array.isArray(v.history) || v.history.length === 0) return false;
  if (!v.history.every(isHistoryMessage)) return false;
  return Array.isArray(v.trajectory) || isObject(v.info) || 'environment' in v || 'replay_config' in v || v.history.some((m) => 'agent' in m);
}

function isVersion1(v: Json, history: Json[]): boolean {
  if ('replay_config' in v) return true;
  if (history.some((m) => 'tool_calls' in m || 'message_type' in m)) return true;
  const first = Array.isArray(v.trajectory) ? v.trajectory[0] : undefined;
  return isObject(first) && isObject(first.state);
}

function textAction(action: string | null, content: string): { actions: Action[]; flags: MessageNote['flags'] } {
  const cmd = action ?? lastFencedBlock(content);
  if (cmd === null || cmd.trim() === '') return { actions: [], flags: { format_error: true } };
  const a = shellAction(cmd);
  const flags: MessageNote['flags'] = {};
  if (a.kind === 'exit') {
    flags.harness_error = true;
    if (a.name === 'exit_format') flags.format_error = true;
  }
  return { actions: [a], flags };
}

export const sweAgent: FormatAdapter = {
  name: 'swe-agent',
  detect: looksLikeSweAgent,
  convert(value, ctx): Draft {
    if (!looksLikeSweAgent(value)) throw new FormatError('unknown-shape', `Record ${ctx.record} of ${ctx.file} is not a SWE-agent trajectory (no history of chat messages).`);
    const v = value;
    const history = v.history as Json[];
    const trajectory = Array.isArray(v.trajectory) ? (v.trajectory.filter(isObject) as Json[]) : [];
    const info = isObject(v.info) ? v.info : {};
    const replay = parseMaybeJson(v.replay_config);
    const replayConfig = isObject(replay) ? replay : null;
    const v1 = isVersion1(v, history);

    const messages: Message[] = [];
    const notes: MessageNote[] = [];
    let stepNo = 0;
    const demoIdx: number[] = [];
    for (const [hi, h] of history.entries()) {
      const role = h.role as string;
      const demo = h.is_demo === true || h.message_type === 'demonstration';
      const content = contentText(h.content);
      if (role === 'system') {
        messages.push({ role: 'system', content });
        notes.push({ demo });
      } else if (role === 'user') {
        messages.push({ role: 'user', content });
        notes.push(demo ? { demo } : { flags: observationFlags(content) });
      } else if (role === 'tool') {
        const ids = Array.isArray(h.tool_call_ids) ? h.tool_call_ids : [];
        const id = str(ids[0]) ?? str(h.tool_call_id);
        messages.push({ role: 'tool', content, ...(id ? { tool_call_id: id } : {}) });
        notes.push(demo ? { demo } : { flags: observationFlags(content) });
      } else if (role === 'assistant') {
        const toolCalls = normalizeToolCalls(h.tool_calls, `call_${stepNo}`, messageAt(ctx, 'history', hi));
        messages.push({ role: 'assistant', content, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) });
        if (demo) {
          notes.push({ demo });
        } else {
          const step = trajectory[stepNo];
          const rendered = str(h.action) ?? str(step?.action);
          if (toolCalls.length) {
            notes.push({ actions: toolCalls.map((c) => toolCallAction(c, toolCalls.length === 1 ? rendered?.trim() ?? null : null)) });
          } else {
            notes.push(textAction(rendered, content));
          }
          stepNo++;
        }
      } else {
        throw unplaceableMessage(messageAt(ctx, 'history', hi), h);
      }
      if (demo) demoIdx.push(messages.length - 1);
    }

    // Steps the history does not have (some versions stop writing history before the final submit).
    let appended = 0;
    for (let j = stepNo; j < trajectory.length; j++) {
      const step = trajectory[j]!;
      const response = str(step.response) ?? str(step.thought) ?? '';
      messages.push({ role: 'assistant', content: response });
      notes.push(textAction(str(step.action), response));
      const obs = str(step.observation);
      if (obs !== null) {
        messages.push({ role: 'user', content: obs });
        notes.push({ flags: observationFlags(obs) });
      }
      appended++;
    }

    if (!notes.some((n, i) => messages[i]!.role === 'assistant' && !n.demo)) {
      throw new FormatError('empty-run', `Record ${ctx.record} of ${ctx.file} is a SWE-agent run with no agent step.`);
    }

    const problem = replayConfig && isObject(replayConfig.problem_statement) ? replayConfig.problem_statement : null;
    const firstTask = messages.find((m, i) => m.role === 'user' && !notes[i]!.demo);
    const agent = replayConfig && isObject(replayConfig.agent) ? replayConfig.agent : null;
    const modelName = agent && isObject(agent.model) ? str(agent.model.name) : null;
    const exitStatus = str(info.exit_status);
    const lastAction = [...notes].reverse().find((n) => n.actions?.length)?.actions?.[0];

    const meta: Json = {};
    if (isObject(info.model_stats)) meta.model_stats = info.model_stats;
    if (typeof v.environment === 'string') meta.environment = v.environment;
    if (modelName) meta.model_name = modelName;
    if (demoIdx.length) meta.demo_message_indices = demoIdx;
    if (appended) meta.steps_from_trajectory = appended;
    if (!exitStatus) meta.unfinished = true;
    if (lastAction?.kind === 'exit') meta.exit_action = lastAction.name;
    const extraInfo = pickUnknown(info, KNOWN_INFO);
    if (extraInfo) meta.info_extra = extraInfo;
    const extra = pickUnknown(v, KNOWN_KEYS);
    if (extra) meta.extra = extra;

    return {
      harness: 'swe-agent',
      format: v1 ? 'swe-agent-1.x' : 'swe-agent-0.x',
      task_id: problem ? str(problem.id) : null,
      task: (problem ? str(problem.text) : null) ?? taskStatement(firstTask?.content ?? ''),
      teacher_model: modelName && !NOT_A_MODEL.has(modelName) ? modelName : null,
      messages,
      notes,
      tools: null,
      exit_status: exitStatus,
      submitted_patch: str(info.submission),
      inline_label: null,
      meta,
    };
  },
};


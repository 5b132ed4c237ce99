import { basename } from 'node:path';
import type { Action, Message, ToolCall } from '../../schemas/index.js';
import { observationFlags } from './flags.js';
import { pickUnknown, toJsonSafe } from './meta.js';
import { contentText, normalizeToolCalls, shellAction, taskStatement, toolCallAction } from './text.js';
import { FormatError, isObject, str, type Draft, type FormatAdapter, type InlineLabel, type Json, type MessageNote } from './types.js';

// OpenHands event streams: evaluation/resolver output.jsonl records (history of actions and
// observations linked by `cause`), OpenDevin 1.5 [action, observation] pairs, the legacy resolver's
// bare events, runtime replay lists and openhands-feedback rows. Every event made from one LLM response
// carries a copy of it in tool_call_metadata.model_response; events are grouped by its id so that one
// response is one assistant turn, exactly as the model produced it.

/** Bookkeeping events the model never sees as such. */
const SKIP_ACTIONS = new Set(['recall', 'change_agent_state', 'initialize', 'null', 'start', 'condensation', 'push', 'reject']);
const SKIP_OBSERVATIONS = new Set(['recall', 'agent_state_changed', 'null', 'condensation', 'user_rejected']);
const KNOWN_KEYS = ['instance_id', 'instruction', 'instance', 'metadata', 'history', 'metrics', 'error', 'test_result', 'id', 'issue', 'issue_type', 'base_commit', 'git_patch', 'success', 'comment_success', 'result_explanation', 'final_message', 'messages', 'trajectory', 'feedback', 'version', 'permissions', 'timestamp'];

function isEvent(e: unknown): e is Json {
  return isObject(e) && !('role' in e) && ('action' in e || 'observation' in e);
}

function flattenHistory(h: unknown[]): Json[] | null {
  const out: Json[] = [];
  for (const item of h) {
    if (Array.isArray(item)) {
      for (const e of item) if (isEvent(e)) out.push(e);
    } else if (isObject(item)) {
      out.push(item);
    }
  }
  return out;
}

function eventList(v: unknown): { events: Json[]; kind: string } | null {
  if (Array.isArray(v)) {
    if (v.length === 0 || !v.every(isObject) || !v.some(isEvent)) return null;
    return { events: v as Json[], kind: 'openhands-events-list' };
  }
  if (!isObject(v)) return null;
  const hist = Array.isArray(v.history) ? v.history : isObject(v) && 'feedback' in v && Array.isArray(v.trajectory) ? v.trajectory : null;
  if (!hist) return null;
  const pairs = hist.length > 0 && hist.every((x) => Array.isArray(x));
  const events = flattenHistory(hist);
  if (!events || !events.some(isEvent)) return null;
  const kind = 'feedback' in v ? 'openhands-feedback' : pairs ? 'openhands-events-pairs' : 'issue' in v && !events.some((e) => 'id' in e) ? 'openhands-resolver' : 'openhands-events';
  return { events, kind };
}

export function looksLikeEvents(v: unknown): boolean {
  return eventList(v) !== null;
}

/** Action arguments: `args`, or `extras` in HF-normalised feedback rows, or the event itself in the legacy resolver. */
function argsOf(e: Json): Json {
  if (isObject(e.args)) return e.args;
  if ('action' in e && isObject(e.extras)) return e.extras;
  const { action: _a, observation: _o, ...rest } = e;
  return rest;
}

function modelResponse(e: Json): Json | null {
  const tcm = isObject(e.tool_call_metadata) ? e.tool_call_metadata : null;
  return tcm && isObject(tcm.model_response) ? tcm.model_response : null;
}

function responseMessage(r: Json): Json | null {
  const c = Array.isArray(r.choices) ? r.choices[0] : null;
  return isObject(c) && isObject(c.message) ? c.message : null;
}

/** The model's text for an action event with no recorded LLM response (legacy CodeAct wrote commands in text). */
function renderLegacy(kind: string, a: Json): string {
  const thought = str(a.thought) ?? '';
  if (kind === 'run' && typeof a.command === 'string') return `${thought}\n<execute_bash>\n${a.command}\n</execute_bash>`.trimStart();
  if (kind === 'run_ipython' && typeof a.code === 'string') return `${thought}\n<execute_ipython>\n${a.code}\n</execute_ipython>`.trimStart();
  if (kind === 'message') return str(a.content) ?? thought;
  // CodeAct ended a run by writing <finish></finish>; a finish with no text is rendered that way, so the
  // turn shows the action instead of being an empty reply.
  if (kind === 'finish') return [a.final_thought, a.thought, a.message].find((t): t is string => typeof t === 'string' && t.trim() !== '') ?? '<finish></finish>';
  return thought;
}

function legacyAction(kind: string, a: Json): Action[] {
  if (kind === 'message') return [];
  if (kind === 'finish') return [{ kind: 'submit', name: 'finish', command: null, arguments: null, tool_call_id: null }];
  if (kind === 'run' && typeof a.command === 'string') return [shellAction(a.command)];
  const { thought: _t, ...rest } = a;
  return [{ kind: 'tool_call', name: kind, command: null, arguments: JSON.stringify(toJsonSafe(rest)), tool_call_id: null }];
}

function taskIdOf(v: unknown, file: string, kind: string): string | null {
  if (!isObject(v)) return kind === 'openhands-events-list' ? basename(file).replace(/\.json$/i, '') : null;
  const instance = isObject(v.instance) ? v.instance : {};
  const issue = isObject(v.issue) ? v.issue : null;
  const fromIssue = issue && issue.owner && issue.repo && issue.number !== undefined ? `${String(issue.owner)}__${String(issue.repo)}-${String(issue.number)}` : null;
  const id = str(v.instance_id) ?? str(instance.instance_id) ?? fromIssue ?? (typeof v.id === 'string' || typeof v.id === 'number' ? String(v.id) : null);
  return id;
}

export const openhandsEvents: FormatAdapter = {
  name: 'openhands-events',
  detect: looksLikeEvents,
  convert(value, ctx): Draft {
    const list = eventList(value);
    if (!list) throw new FormatError('unknown-shape', `Record ${ctx.record} of ${ctx.file} is not an OpenHands event history.`);
    const { events, kind } = list;
    const v: Json = isObject(value) ? value : {};

    const messages: Message[] = [];
    const notes: MessageNote[] = [];
    let tools: Record<string, unknown>[] | null = null;
    let currentResponse: string | null = null;
    let currentCalls: ToolCall[] = [];
    const actionIds = new Set<unknown>();
    let steps = 0;
    let skipped = 0;
    let reconstructed = 0;
    let model: string | null = null;
    let finished = false;
    let sawUserMessage = false;

    for (const e of events) {
      if (typeof e.action === 'string') {
        const k = e.action;
        const a = argsOf(e);
        if (k === 'system') {
          messages.push({ role: 'system', content: str(a.content) ?? str(e.message) ?? '' });
          notes.push({});
          if (Array.isArray(a.tools)) tools = toJsonSafe(a.tools.filter(isObject)) as Record<string, unknown>[];
          continue;
        }
        if (k === 'initialize' && typeof a.LLM_MODEL === 'string') model ??= a.LLM_MODEL;
        if (SKIP_ACTIONS.has(k)) {
          skipped++;
          continue;
        }
        // The legacy resolver has no `source`: its first message is the user's instruction.
        const source = str(e.source) ?? (k === 'message' && !sawUserMessage ? 'user' : 'agent');
        if (k === 'message' && source === 'user') {
          messages.push({ role: 'user', content: str(a.content) ?? str(e.message) ?? '' });
          notes.push({});
          sawUserMessage = true;
          currentResponse = null;
          continue;
        }
        if (k === 'finish') finished = true;
        actionIds.add(e.id);
        const response = modelResponse(e);
        const rid = response ? str(response.id) : null;
        if (rid && rid === currentResponse) continue; // another tool call of the same LLM response
        const rmsg = response ? responseMessage(response) : null;
        if (rmsg) {
          model ??= str(response!.model);
          const calls = normalizeToolCalls(rmsg.tool_calls, `call_${steps}`, `Record ${ctx.record} of ${ctx.file}, event ${String(e.id ?? '?')} (model_response ${rid ?? '?'})`);
          const reasoning = str(rmsg.reasoning_content);
          messages.push({ role: 'assistant', content: contentText(rmsg.content), ...(reasoning?.trim() ? { reasoning_content: reasoning } : {}), ...(calls.length ? { tool_calls: calls } : {}) });
          notes.push({ actions: calls.length ? calls.map((c) => toolCallAction(c, typeof a.command === 'string' && calls.length === 1 ? a.command : null)) : legacyAction(k, a) });
          currentCalls = calls;
        } else {
          messages.push({ role: 'assistant', content: renderLegacy(k, a) });
          notes.push({ actions: legacyAction(k, a) });
          currentCalls = [];
          reconstructed++;
        }
        currentResponse = rid ?? `event-${String(e.id ?? steps)}`;
        steps++;
        continue;
      }
      if (typeof e.observation === 'string') {
        const k = e.observation;
        if (SKIP_OBSERVATIONS.has(k)) {
          skipped++;
          continue;
        }
        const content = str(e.content) ?? str(e.message) ?? '';
        const tcm = isObject(e.tool_call_metadata) ? e.tool_call_metadata : {};
        const callId = str(tcm.tool_call_id);
        const flags = observationFlags(content);
        if (k === 'error') flags.harness_error = true;
        if (callId && currentCalls.some((c) => c.id === callId)) {
          const name = str(tcm.function_name);
          messages.push({ role: 'tool', content, tool_call_id: callId, ...(name ? { name } : {}) });
          notes.push({ flags });
        } else {
          // No link to the current call: the model sees it as a user turn. An error with no cause
          // answers a model turn the log did not record, so it is not charged to the previous step.
          const linked = e.cause === undefined ? kind === 'openhands-resolver' || kind === 'openhands-events-pairs' : actionIds.has(e.cause);
          messages.push({ role: 'user', content });
          notes.push(linked ? { flags } : { detached: true });
        }
      }
    }
    if (steps === 0) throw new FormatError('empty-run', `Record ${ctx.record} of ${ctx.file} is an OpenHands history with no agent action.`);

    const instance = isObject(v.instance) ? v.instance : {};
    const metadata = isObject(v.metadata) ? v.metadata : {};
    const llm = isObject(metadata.llm_config) ? metadata.llm_config : {};
    const issue = isObject(v.issue) ? v.issue : null;
    const testResult = isObject(v.test_result) ? v.test_result : {};
    const report = isObject(testResult.report) ? testResult.report : null;
    const error = v.error === undefined || v.error === null ? null : String(v.error);

    let inline: InlineLabel | null = null;
    if (report && typeof report.resolved === 'boolean') inline = { resolved: report.resolved, source: 'record:test_result.report.resolved' };
    else if (typeof testResult.result === 'boolean') inline = { resolved: testResult.result, source: 'record:test_result.result' };

    const firstUser = messages.find((m) => m.role === 'user');
    const instruction = str(v.instruction);
    const task =
      str(instance.problem_statement) ??
      (issue ? [str(issue.title), str(issue.body)].filter(Boolean).join('\n\n') : null) ??
      taskStatement(instruction ?? firstUser?.content ?? '');

    const meta: Json = {};
    if (typeof metadata.agent_class === 'string') meta.agent_class = metadata.agent_class;
    if (typeof metadata.max_iterations === 'number') meta.max_iterations = metadata.max_iterations;
    if (error) meta.error = error;
    // LLM- or user-judged verdicts are kept for reference; they are not test results.
    if (typeof v.success === 'boolean') meta.judged_success = v.success;
    if (typeof v.result_explanation === 'string') meta.judged_explanation = v.result_explanation;
    if (typeof v.feedback === 'string') meta.user_feedback = v.feedback;
    if (report) meta.test_report = toJsonSafe(report);
    if (skipped) meta.skipped_events = skipped;
    if (reconstructed) meta.reconstructed_turns = reconstructed;
    const extra = pickUnknown(v, KNOWN_KEYS);
    if (extra) meta.extra = extra;

    return {
      harness: 'openhands',
      format: kind,
      task_id: taskIdOf(value, ctx.file, kind),
      task,
      // OpenDevin v1.x evaluation outputs (ProntoQA, ...) name the model in metadata.model_name.
      teacher_model: str(llm.model) ?? str(metadata.model_name) ?? model,
      messages,
      notes,
      tools,
      exit_status: error ?? (finished ? 'finished' : null),
      submitted_patch: str(testResult.git_patch) ?? str(v.git_patch),
      inline_label: inline,
      meta,
    };
  },
};

import type { Action, ToolCall } from '../../schemas/index.js';
import { FormatError, isObject } from './types.js';

/**
 * Message content as one string. Harnesses send null (tool-call-only turns), plain strings, or lists of
 * content parts ({type: "text", text, cache_control}); non-text parts are replaced by a placeholder so
 * the turn keeps its place without inventing text.
 */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (typeof part === 'string') return part;
        if (isObject(part)) {
          if (typeof part.text === 'string') return part.text;
          if (typeof part.Value === 'string') return part.Value;
          return `[${typeof part.type === 'string' ? part.type : 'non-text'} content]`;
        }
        return '';
      })
      .join('');
  }
  if (isObject(content) && typeof content.text === 'string') return content.text;
  return JSON.stringify(content);
}

/** Fenced code blocks (```lang\n...\n```), with the language tag, in order. */
export function fencedBlocks(text: string): { lang: string; body: string }[] {
  const out: { lang: string; body: string }[] = [];
  const re = /```([A-Za-z0-9_+-]*)[ \t]*\r?\n([\s\S]*?)\r?\n?```/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out.push({ lang: m[1] ?? '', body: m[2] ?? '' });
  return out;
}

/** mini-swe-agent's rule: exactly one ```bash (or ```mswea_bash_command) block, else a format error. */
export function miniShellAction(text: string): string | null {
  const blocks = fencedBlocks(text).filter((b) => b.lang === 'bash' || b.lang === 'mswea_bash_command');
  return blocks.length === 1 ? blocks[0]!.body.trim() : null;
}

/** SWE-agent's text parser: the last fenced block of the response is the command. */
export function lastFencedBlock(text: string): string | null {
  const blocks = fencedBlocks(text);
  return blocks.length ? blocks[blocks.length - 1]!.body : null;
}

/** XML-style calls written in text: <function=name>\n<parameter=k>v</parameter>\n</function>. */
export function xmlFunctionCalls(text: string): { name: string; params: Record<string, string> }[] {
  const out: { name: string; params: Record<string, string> }[] = [];
  const re = /<function=([\w.-]+)>([\s\S]*?)(?:<\/function>|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const params: Record<string, string> = {};
    const pre = /<parameter=([\w.-]+)>([\s\S]*?)<\/parameter>/g;
    let p: RegExpExecArray | null;
    while ((p = pre.exec(m[2] ?? '')) !== null) params[p[1]!] = (p[2] ?? '').replace(/^\n/, '').replace(/\n$/, '');
    out.push({ name: m[1]!, params });
  }
  return out;
}

const SUBMIT_TOOLS = new Set(['submit', 'finish']);
const SHELL_TOOLS = new Set(['bash', 'execute_bash', 'shell', 'run', 'cmd']);

/** SWE-agent special actions that are written by the harness, not by the model. */
export const EXIT_ACTIONS = new Set(['exit_cost', 'exit_context', 'exit_format', 'exit_api', 'exit_error', 'exit_forfeit']);

function parseArgs(args: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(args);
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/** Action of one tool call; `command` is the shell command when the tool runs one (or the harness's rendering of it). */
export function toolCallAction(call: ToolCall, rendered: string | null = null): Action {
  const name = call.function.name;
  const args = parseArgs(call.function.arguments);
  const argCommand = args && typeof args.command === 'string' ? args.command : null;
  const command = SHELL_TOOLS.has(name) ? argCommand ?? rendered : rendered;
  return {
    kind: SUBMIT_TOOLS.has(name) ? 'submit' : 'tool_call',
    name,
    command,
    arguments: call.function.arguments,
    tool_call_id: call.id,
  };
}

/** Action of a command parsed from text (SWE-agent, mini-swe-agent, nebius rows). */
export function shellAction(command: string, submitSentinel = false): Action {
  const trimmed = command.trim();
  const first = trimmed.split(/\s/, 1)[0] ?? '';
  if (submitSentinel || trimmed === 'submit') return { kind: 'submit', name: 'submit', command: trimmed, arguments: null, tool_call_id: null };
  if (EXIT_ACTIONS.has(first)) return { kind: 'exit', name: first, command: null, arguments: null, tool_call_id: null };
  return { kind: 'shell', name: first || null, command: command.replace(/\n$/, ''), arguments: null, tool_call_id: null };
}

/** Actions of an XML-style call written in text (SWE-smith rows, OpenHands prompts without native tools). */
export function xmlCallActions(text: string): Action[] {
  return xmlFunctionCalls(text).map((c) => {
    const args = JSON.stringify(c.params);
    return {
      kind: SUBMIT_TOOLS.has(c.name) ? 'submit' : 'tool_call',
      name: c.name,
      command: SHELL_TOOLS.has(c.name) ? c.params.command ?? null : null,
      arguments: args,
      tool_call_id: null,
    } satisfies Action;
  });
}

/**
 * OpenAI tool calls as harnesses store them (arguments as a string or, sometimes, an object). An entry
 * that is not a call (`tool_calls: [null]`, a call without a function name) is not dropped: its result
 * would then answer nothing. The record is rejected as `malformed-message`; `where` names it
 * ("Record 0 of f.json, fncall_messages[4]").
 */
export function normalizeToolCalls(raw: unknown, fallbackId: string, where: string): ToolCall[] {
  if (!Array.isArray(raw)) return [];
  const out: ToolCall[] = [];
  raw.forEach((c, i) => {
    const fn = isObject(c) ? (isObject(c.function) ? c.function : c) : null;
    const name = fn && typeof fn.name === 'string' ? fn.name : null;
    if (!isObject(c) || !name) {
      const shown = JSON.stringify(c) ?? String(c);
      throw new FormatError('malformed-message', `${where}: tool call ${i} is ${shown.length > 80 ? shown.slice(0, 80) + '…' : shown}, not a call with a function name; dropping it would leave its result answering nothing.`);
    }
    const args = typeof fn!.arguments === 'string' ? fn!.arguments : JSON.stringify(fn!.arguments ?? {});
    out.push({ id: typeof c.id === 'string' && c.id ? c.id : `${fallbackId}_${i}`, type: 'function', function: { name, arguments: args } });
  });
  return out;
}

/** Text between two markers (the first start marker, the first end marker after it), trimmed. */
export function between(text: string, start: string | RegExp, end: string | RegExp): string | null {
  const s = typeof start === 'string' ? text.indexOf(start) : text.search(start);
  if (s < 0) return null;
  const startLen = typeof start === 'string' ? start.length : (text.slice(s).match(start)?.[0].length ?? 0);
  const rest = text.slice(s + startLen);
  const e = typeof end === 'string' ? rest.indexOf(end) : rest.search(end);
  return (e < 0 ? rest : rest.slice(0, e)).trim();
}

/** The issue text inside the task message of the usual harness templates; the whole message otherwise. */
export function taskStatement(taskMessage: string): string {
  return (
    between(taskMessage, '<issue_description>', '</issue_description>') ??
    between(taskMessage, /<pr_description>\s*(Consider the following PR description:)?/, '</pr_description>') ??
    between(taskMessage, /\bISSUE:\n/, /\n\s*INSTRUCTIONS:/) ??
    between(taskMessage, '# Problem Statement', /\n(IMPORTANT:|# )/) ??
    taskMessage.trim()
  );
}

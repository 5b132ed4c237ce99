import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/formats/detect.js';
import { buildSteps } from '../../src/formats/steps.js';
import { FormatError, type AdapterContext, type Draft } from '../../src/formats/types.js';

// Each adapter on the project's own native-format samples (data/sample/native, written by
// scripts/make-native-sample.ts) and on small hand-written edge cases.

const NATIVE = 'data/sample/native';
const ctx = (file: string, record = 0): AdapterContext => ({ file, record, dataset: { messages_column: null, resolved_column: null, task_id_column: null } });
const load = (path: string): unknown => JSON.parse(readFileSync(`${NATIVE}/${path}`, 'utf8'));
const line = (path: string, n: number): unknown => JSON.parse(readFileSync(`${NATIVE}/${path}`, 'utf8').split('\n')[n]!);

function convert(value: unknown, file = 'x.json'): Draft & { steps: ReturnType<typeof buildSteps> } {
  const d = detectFormat(value, ctx(file));
  if (d.kind !== 'adapter') throw new Error(`not detected: ${d.kind}`);
  const draft = d.adapter.convert(value, ctx(file));
  return { ...draft, steps: buildSteps(draft.messages, draft.notes) };
}

function rejectReason(value: unknown, file = 'x.json'): string {
  const d = detectFormat(value, ctx(file));
  if (d.kind !== 'adapter') return d.kind;
  try {
    d.adapter.convert(value, ctx(file));
  } catch (err) {
    if (err instanceof FormatError) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('SWE-agent 0.x (text actions)', () => {
  const run = convert(load('swe-agent-0.x/trajs/acme__pager-12.traj'), 'acme__pager-12.traj');

  it('keeps the demonstration as context but never as a step', () => {
    expect(run.format).toBe('swe-agent-0.x');
    expect(run.messages[1]!.content).toContain('DEMONSTRATION');
    expect(run.steps.every((s) => s.message_index > 1 && !s.observation_indices.includes(1))).toBe(true);
    expect(run.steps[0]!.message_index).toBe(3);
  });

  it('parses the fenced command of each turn and flags the submit', () => {
    expect(run.steps).toHaveLength(5);
    expect(run.steps[0]!.actions).toEqual([{ kind: 'shell', name: 'grep', command: 'grep -rn "def paginate" src', arguments: null, tool_call_id: null }]);
    expect(run.steps[4]!.actions[0]!.kind).toBe('submit');
    expect(run.steps[4]!.flags.submit).toBe(true);
    expect(run.task).toBe('paginate(items, page, size) drops the last item of every page. Expected paginate([1, 2, 3, 4], 2, 2) == [3, 4], got [3].');
    expect(run.task_id).toBeNull(); // only in the file name: the stage takes it from there
    expect(run.exit_status).toBe('submitted');
    expect(run.submitted_patch).toContain('end = start + size');
  });

  it('marks exit_cost as a harness turn and flags the timeout observation', () => {
    const cost = convert(load('swe-agent-0.x/trajs/acme__slugify-4.traj'));
    const last = cost.steps[cost.steps.length - 1]!;
    expect(last.actions).toEqual([{ kind: 'exit', name: 'exit_cost', command: null, arguments: null, tool_call_id: null }]);
    expect(last.flags.harness_error).toBe(true);
    expect(cost.steps[1]!.flags.timeout).toBe(true);
    expect(cost.exit_status).toBe('submitted (exit_cost)');
  });

  it('reads an unfinished run (no exit status, no submission) without guessing', () => {
    const unfinished = convert(load('swe-agent-0.x/trajs/acme__retry-3.traj'));
    expect(unfinished.exit_status).toBeNull();
    expect(unfinished.submitted_patch).toBeNull();
    expect(unfinished.meta.unfinished).toBe(true);
    expect(unfinished.steps).toHaveLength(2);
    expect(unfinished.steps.some((s) => s.flags.submit)).toBe(false);
  });

  it('flags a turn with no command as a format error', () => {
    const raw = load('swe-agent-0.x/trajs/acme__retry-3.traj') as { history: { role: string; content: string; action?: string }[]; trajectory: { action: string }[] };
    const last = raw.history.filter((m) => m.role === 'assistant').pop()!;
    last.content = 'DISCUSSION\nI am not sure what to do next.';
    delete last.action;
    raw.trajectory[raw.trajectory.length - 1]!.action = '';
    const run2 = convert(raw);
    expect(run2.steps[1]!.actions).toEqual([]);
    expect(run2.steps[1]!.flags.format_error).toBe(true);
  });
});

describe('SWE-agent 1.x (function calling)', () => {
  const run = convert(load('swe-agent-1.x/acme__dates-9.traj'));

  it('takes id, task and model from replay_config given as a JSON string', () => {
    expect(run.format).toBe('swe-agent-1.x');
    expect(run.task_id).toBe('acme__dates-9');
    expect(run.teacher_model).toBe('teacher-large-2026');
    expect(run.task).toContain('parse_date ignores the timezone offset');
  });

  it('links tool results through tool_call_ids and flags clipped observations', () => {
    const step = run.steps[0]!;
    expect(step.actions[0]).toMatchObject({ kind: 'tool_call', name: 'bash', tool_call_id: 'call_00_dates' });
    expect(step.actions[0]!.command).toContain('grep -n "def parse_date"');
    expect(run.messages[step.observation_indices[0]!]).toMatchObject({ role: 'tool', tool_call_id: 'call_00_dates' });
    expect(step.flags.truncated_observation).toBe(true);
    expect(run.steps[run.steps.length - 1]!.actions[0]!.kind).toBe('submit');
  });

  it('adds final steps that history lacks from the trajectory', () => {
    const raw = load('swe-agent-1.x/acme__dates-9.traj') as { history: unknown[] };
    raw.history = raw.history.slice(0, -2); // drop the submit turn and its result, as some versions do
    const cut = convert(raw);
    expect(cut.steps).toHaveLength(run.steps.length);
    expect(cut.steps[cut.steps.length - 1]!.actions[0]!.kind).toBe('submit');
    expect(cut.meta.steps_from_trajectory).toBe(1);
  });
});

describe('mini-swe-agent', () => {
  it('v1: tells observations, format errors, timeouts and clipped output apart', () => {
    const run = convert(load('mini-swe-agent-1/trajs/acme__slugify-4.traj.json'));
    expect(run.format).toBe('mini-swe-agent-1');
    expect(run.task_id).toBe('acme__slugify-4');
    expect(run.teacher_model).toBe('teacher-large-2026');
    expect(run.steps).toHaveLength(7);
    expect(run.steps[1]!.actions).toEqual([]);
    expect(run.steps[1]!.flags.format_error).toBe(true);
    expect(run.steps[2]!.flags.timeout).toBe(true);
    expect(run.steps[4]!.flags.truncated_observation).toBe(true);
    const last = run.steps[6]!;
    expect(last.actions[0]!.kind).toBe('submit');
    expect(run.messages[last.observation_indices[0]!]!.content).toContain('diff --git'); // the raw submission
    expect(run.task).toBe("slugify() drops accented letters instead of transliterating them. slugify('Crème Brûlée') should return 'creme-brulee' but returns 'cr-me-br-l-e'.");
  });

  it('v1: keeps provider reasoning in reasoning_content, apart from the THOUGHT text', () => {
    const run = convert(load('mini-swe-agent-1/trajs/acme__dates-9.traj.json'));
    const last = run.messages[run.steps[run.steps.length - 1]!.message_index]!;
    expect(last.reasoning_content).toBe('Everything needed is in place.');
    expect(last.content).not.toContain('Everything needed is in place.');
    expect(run.messages.filter((m) => m.reasoning_content)).toHaveLength(1);
  });

  it('v2: reads native tool calls, multimodal content and the final exit message', () => {
    const run = convert(load('mini-swe-agent-2/acme__pager-12.traj.json'));
    expect(run.format).toBe('mini-swe-agent-2');
    expect(run.messages.some((m) => (m.role as string) === 'exit')).toBe(false);
    expect(run.messages[1]!.content).toContain('<pr_description>');
    expect(run.exit_status).toBe('Submitted');
    expect(run.submitted_patch).toContain('end = start + size');
    expect(run.steps[0]!.actions[0]).toMatchObject({ kind: 'tool_call', name: 'bash', tool_call_id: 'call_mini_0' });
    expect(run.steps[run.steps.length - 1]!.actions[0]!.kind).toBe('submit');
  });

  it('the older bare list of messages is read too', () => {
    const list = [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Please solve this issue: ls fails.' },
      { role: 'assistant', content: 'Look.\n\n```mswea_bash_command\nls\n```' },
      { role: 'user', content: '<returncode>0</returncode>\n<output>\na\n</output>' },
    ];
    const run = convert(list, 'fixture.traj.json');
    expect(run.format).toBe('mini-swe-agent-list');
    expect(run.steps[0]!.actions[0]).toMatchObject({ kind: 'shell', command: 'ls' });
  });

  it('a run with no assistant turn is rejected as empty', () => {
    expect(rejectReason({ trajectory_format: 'mini-swe-agent-1', info: {}, messages: [{ role: 'system', content: 's' }, { role: 'user', content: 't' }] })).toBe('empty-run');
  });
});

describe('OpenHands', () => {
  it('completion log: native tool-call view plus the final response, id and model from the path', () => {
    const file = `${NATIVE}/openhands-completions/trajs/acme__pager-12/teacher-large-2026-1767225600.5.json`;
    const run = convert(JSON.parse(readFileSync(file, 'utf8')), file);
    expect(run.format).toBe('openhands-completions');
    expect(run.task_id).toBe('acme__pager-12');
    expect(run.teacher_model).toBe('teacher-large-2026');
    expect(run.steps).toHaveLength(5);
    const last = run.steps[4]!;
    expect(last.actions[0]).toMatchObject({ kind: 'submit', name: 'finish' });
    expect(run.messages[last.message_index]!.reasoning_content).toBe('Tests pass; nothing left.');
    expect(run.steps[0]!.actions[0]!.command).toBe('grep -rn "def paginate" src');
  });

  it('event history: one assistant turn per LLM response, observations linked by cause, bookkeeping skipped', () => {
    const run = convert(line('openhands-events/output.jsonl', 0));
    expect(run.format).toBe('openhands-events');
    expect(run.task_id).toBe('acme__dates-9');
    expect(run.tools).toHaveLength(2);
    expect(run.messages[0]!.role).toBe('system');
    expect(run.steps).toHaveLength(4);
    expect(run.messages.some((m) => m.content === 'Added workspace context')).toBe(false);
    expect(run.messages[run.steps[0]!.observation_indices[0]!]).toMatchObject({ role: 'tool', tool_call_id: 'toolu_1' });
    expect(run.inline_label).toEqual({ resolved: true, source: 'record:test_result.report.resolved' });
    expect(run.exit_status).toBe('finished');
  });

  it('event history: an error with no cause is context, not charged to the previous step', () => {
    const run = convert(line('openhands-events/output.jsonl', 1));
    expect(run.exit_status).toMatch(/^RuntimeError: Agent reached maximum iteration/);
    expect(run.inline_label).toBeNull();
    const errorIndex = run.messages.findIndex((m) => m.content === 'Parameter "path" is required.');
    expect(errorIndex).toBeGreaterThan(0);
    expect(run.steps.some((s) => s.observation_indices.includes(errorIndex))).toBe(false);
    expect(run.steps.some((s) => s.flags.harness_error)).toBe(false);
  });
});

describe('chat dataset rows', () => {
  it('SWE-smith style: XML calls in text, OBSERVATION user turns, resolved flag', () => {
    const run = convert(line('hf/swe-smith-style.jsonl', 1));
    expect(run).toMatchObject({ harness: 'swe-agent', format: 'hf-swe-smith', task_id: 'acme__slugify-4', inline_label: { resolved: false, source: 'row:resolved' } });
    expect(run.steps[0]!.actions[0]).toMatchObject({ kind: 'tool_call', name: 'bash', command: 'cat slugkit/slug.py', arguments: '{"command":"cat slugkit/slug.py"}' });
    expect(run.steps.some((s) => s.flags.truncated_observation)).toBe(true);
    expect(run.steps[run.steps.length - 1]!.actions[0]!.kind).toBe('submit');
  });

  it('nebius style: role "ai", system prompt in its own column, target flag as int64', () => {
    const row = {
      instance_id: 'acme__x-1',
      model_name: 'm',
      target: 1n,
      trajectory: [
        { role: 'system', system_prompt: 'SETTING: ...', text: null },
        { role: 'user', text: 'ISSUE:\nbroken\n\nINSTRUCTIONS:\nfix' },
        { role: 'ai', text: 'Look first.\n```\nls\n```' },
        { role: 'user', text: 'a.py' },
        { role: 'ai', text: 'I forgot the command.' },
        { role: 'user', text: 'Your output was not formatted correctly.' },
      ],
    };
    const run = convert(row);
    expect(run).toMatchObject({ harness: 'swe-agent', format: 'hf-nebius-swe-agent', task: 'broken', teacher_model: 'm', inline_label: { resolved: true, source: 'row:target' } });
    expect(run.messages[0]).toEqual({ role: 'system', content: 'SETTING: ...' });
    expect(run.steps[0]!.actions[0]).toMatchObject({ kind: 'shell', command: 'ls' });
    expect(run.steps[1]!.flags.format_error).toBe(true);
  });

  it('configured column names win over the defaults', () => {
    const row = { conv: [{ role: 'user', content: 'do it' }, { role: 'assistant', content: 'done' }], ok: 'true', key: 'task-7' };
    const c = { ...ctx('rows.jsonl'), dataset: { messages_column: 'conv', resolved_column: 'ok', task_id_column: 'key' } };
    const d = detectFormat(row, c);
    expect(d.kind).toBe('adapter');
    const draft = (d as { adapter: { convert: (v: unknown, c: AdapterContext) => Draft } }).adapter.convert(row, c);
    expect(draft).toMatchObject({ harness: 'chat-dataset', format: 'chat-messages', task_id: 'task-7', inline_label: { resolved: true, source: 'row:ok' } });
  });

  it('unknown shapes are not guessed', () => {
    expect(rejectReason({ hello: 'world' })).toBe('unknown');
    expect(rejectReason({ messages: [{ role: 'user', content: 'only a question' }] })).toBe('empty-run');
  });
});

// Builds small, valid PipelineRecords for filter and dedup tests: each test states only what it varies.
import { PipelineRecord, type Message, type Step, type StepFlags } from '../../schemas/index.js';
import { trajectoryId } from '../../src/core/ids.js';

export interface StepSpec {
  /** Tool name; 'submit' makes a submit action. */
  tool?: string;
  /** Shell command (sent as {"command": ...}) unless rawArgs is given. */
  command?: string;
  /** Arguments string exactly as the model wrote it (may be invalid JSON). */
  rawArgs?: string;
  obs?: string;
  /** A harness special action (exit_cost, exit_api, ...) instead of a tool call. */
  exit?: string;
  /** No parsable action at all (a format error). */
  noAction?: boolean;
  flags?: Partial<StepFlags>;
}

export interface RecordSpec {
  task_id?: string;
  task?: string;
  resolved?: boolean | null;
  exit_status?: string | null;
  patch?: string | null;
  steps?: StepSpec[];
  /** Append a final submit step (default true). */
  submit?: boolean;
  tools?: string[] | null;
  meta?: Record<string, unknown>;
  file?: string;
  record?: number;
}

const NO_FLAGS: StepFlags = { format_error: false, timeout: false, truncated_observation: false, harness_error: false, submit: false };

export function makeRecord(spec: RecordSpec = {}): PipelineRecord {
  const taskId = spec.task_id ?? 'acme__widget-1';
  const task = spec.task ?? 'The widget crashes when the input list is empty; it should return an empty result instead.';
  const specs: StepSpec[] = [...(spec.steps ?? [{ command: 'ls' }, { command: 'cat widget.py', obs: 'def widget(xs): return xs[0]' }])];
  if (spec.submit ?? true) specs.push({ tool: 'submit', rawArgs: '{}', obs: 'diff --git a/widget.py b/widget.py' });

  const messages: Message[] = [
    { role: 'system', content: 'You are a software engineer in a sandbox.' },
    { role: 'user', content: `<issue>\n${task}\n</issue>` },
  ];
  const steps: Step[] = [];
  specs.forEach((s, i) => {
    const messageIndex = messages.length;
    const callId = `call_${i}`;
    const tool = s.tool ?? 'bash';
    const args = s.rawArgs ?? JSON.stringify({ command: s.command ?? `echo ${i}` });
    if (s.noAction) {
      messages.push({ role: 'assistant', content: 'I will think about it without a command.' });
    } else {
      messages.push({ role: 'assistant', content: `Step ${i}.`, tool_calls: [{ id: callId, type: 'function', function: { name: tool, arguments: args } }] });
    }
    const obsIndex = messages.length;
    messages.push(s.noAction ? { role: 'user', content: s.obs ?? 'Your last output had no command.' } : { role: 'tool', content: s.obs ?? '', tool_call_id: callId, name: tool });
    const isSubmit = tool === 'submit' && !s.noAction;
    steps.push({
      index: i,
      message_index: messageIndex,
      actions: s.noAction
        ? []
        : s.exit
          ? [{ kind: 'exit', name: s.exit, command: null, arguments: null, tool_call_id: null }]
          : [
            {
              kind: isSubmit ? 'submit' : 'tool_call',
              name: tool,
              command: tool === 'bash' ? (s.command ?? `echo ${i}`) : null,
              arguments: args,
              tool_call_id: callId,
            },
          ],
      observation_indices: [obsIndex],
      flags: { ...NO_FLAGS, format_error: !!s.noAction, submit: isSubmit, ...s.flags },
    });
  });

  const toolNames = spec.tools === undefined ? ['bash', 'submit'] : spec.tools;
  const record: PipelineRecord = {
    id: trajectoryId(taskId, 'canonical', messages),
    task_id: taskId,
    task,
    source: { harness: 'canonical', format: 'canonical-1', file: spec.file ?? 'test/constructed.jsonl', record: spec.record ?? 0, teacher_model: null },
    messages,
    tools: toolNames === null ? null : toolNames.map((name) => ({ type: 'function', function: { name, parameters: { type: 'object', properties: {} } } })),
    steps,
    outcome: {
      resolved: spec.resolved === undefined ? false : spec.resolved,
      exit_status: spec.exit_status === undefined ? 'submitted' : spec.exit_status,
      submitted_patch: spec.patch === undefined ? 'diff --git a/widget.py b/widget.py' : spec.patch,
      label_source: 'test',
      failing_tests: null,
    },
    meta: spec.meta ?? {},
  };
  // A factory that builds invalid records would make every test built on it meaningless.
  return PipelineRecord.parse(record);
}

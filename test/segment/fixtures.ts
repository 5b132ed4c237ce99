import { createHash } from 'node:crypto';
import { PipelineRecord, type Message, type Step, type StepValues } from '../../schemas/index.js';

export interface RunSpec {
  /** Distinguishes runs (the id is a hash of it). */
  name: string;
  resolved: boolean | null;
  steps: number;
  /** One value per step, or null for an unlabelled run. */
  values?: number[] | null;
  /** The last step submits (default true). */
  submitLast?: boolean;
}

/**
 * A small, valid run: system, user, then per step an assistant turn with one bash call and its tool
 * observation. Step i's assistant turn is message 2 + 2i; its observation is message 3 + 2i.
 */
export function makeRecord(spec: RunSpec): PipelineRecord {
  const messages: Message[] = [
    { role: 'system', content: 'You are a careful engineer.' },
    { role: 'user', content: `Fix bug ${spec.name}.` },
  ];
  const steps: Step[] = [];
  for (let i = 0; i < spec.steps; i++) {
    const submit = (spec.submitLast ?? true) && i === spec.steps - 1;
    const id = `call_${spec.name}_${i}`;
    const name = submit ? 'submit' : 'bash';
    messages.push({
      role: 'assistant',
      content: `Step ${i} of ${spec.name}.`,
      tool_calls: [{ id, type: 'function', function: { name, arguments: submit ? '{}' : `{"command":"echo ${i}"}` } }],
    });
    messages.push({ role: 'tool', content: `output ${i}`, tool_call_id: id, name });
    steps.push({
      index: i,
      message_index: 2 + 2 * i,
      actions: [{ kind: submit ? 'submit' : 'shell', name, command: submit ? null : `echo ${i}`, arguments: null, tool_call_id: id }],
      observation_indices: [3 + 2 * i],
      flags: { format_error: false, timeout: false, truncated_observation: false, harness_error: false, submit },
    });
  }
  const values: StepValues | null =
    spec.values === undefined || spec.values === null
      ? null
      : { labeler: 'heuristic', model: null, prompt_version: 'test-1', values: spec.values, samples: null, spread: null, peak_disagreement: null, flags: [], request_hash: null };
  return PipelineRecord.parse({
    id: createHash('sha256').update(spec.name).digest('hex').slice(0, 24),
    task_id: `acme__${spec.name}`,
    task: `Fix bug ${spec.name}.`,
    source: { harness: 'canonical', format: 'canonical-1', file: 'test.jsonl', record: 0, teacher_model: 'm' },
    messages,
    tools: null,
    steps,
    outcome: { resolved: spec.resolved, exit_status: 'submitted', submitted_patch: null, label_source: 'test', failing_tests: null },
    meta: {},
    values,
  });
}

/** Message index of step i's assistant turn in makeRecord's layout. */
export const assistantIndex = (step: number) => 2 + 2 * step;

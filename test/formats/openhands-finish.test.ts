import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/formats/detect.js';
import { buildSteps } from '../../src/formats/steps.js';
import type { AdapterContext } from '../../src/formats/types.js';

// An OpenHands finish action with no recorded LLM response and no text used to become an empty assistant
// turn (trained in a resolved run). It is rendered as CodeAct wrote it: <finish></finish>.

const ctx: AdapterContext = { file: 'pairs.jsonl', record: 0, dataset: { messages_column: null, resolved_column: null, task_id_column: null } };

function run(finishArgs: Record<string, unknown>) {
  const value = {
    instance_id: 'acme__finish-1',
    instruction: 'Fix it.',
    history: [
      [{ id: 0, source: 'user', action: 'message', args: { content: 'Fix it.' } }, { message: 'No observation', observation: 'null', content: '', extras: {} }],
      [{ id: 1, source: 'agent', action: 'run', args: { command: 'ls', thought: 'Look.' } }, { id: 2, cause: 1, observation: 'run', content: 'a.py', extras: {} }],
      [{ id: 3, source: 'agent', action: 'finish', args: finishArgs }, { message: 'No observation', observation: 'null', content: '', extras: {} }],
    ],
    test_result: { result: true },
  };
  const d = detectFormat(value, ctx);
  if (d.kind !== 'adapter') throw new Error(d.kind);
  const draft = d.adapter.convert(value, ctx);
  return { draft, steps: buildSteps(draft.messages, draft.notes) };
}

describe('OpenHands finish without text', () => {
  it('renders the action instead of an empty turn, and still submits', () => {
    const { draft, steps } = run({ outputs: {}, thought: '' });
    const last = steps[steps.length - 1]!;
    expect(draft.messages[last.message_index]).toEqual({ role: 'assistant', content: '<finish></finish>' });
    expect(last.flags.submit).toBe(true);
  });

  it('keeps the first text the action has', () => {
    const { draft, steps } = run({ outputs: {}, final_thought: '', thought: 'All tests pass.' });
    expect(draft.messages[steps[steps.length - 1]!.message_index]!.content).toBe('All tests pass.');
  });
});

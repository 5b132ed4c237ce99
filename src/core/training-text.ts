import type { Message, Step } from '../../schemas/index.js';

// What comes after a run's final submit is not training text: the submitted diff echoed back to the
// agent, a `git diff` the harness printed, a last observation nobody answered. No trainer learns from
// it (no assistant turn follows), yet it can be hundreds of kilobytes. The canonical record keeps it;
// the exported messages and the length limits stop at the final submitting turn.

/**
 * How many messages are training text: everything up to and including the final submitting assistant
 * turn, or all of them when the run never submits (a cut-off run has no submit to stop at).
 */
export function trainingMessageCount(record: { messages: readonly Message[]; steps: readonly Step[] }): number {
  for (let i = record.steps.length - 1; i >= 0; i--) {
    const step = record.steps[i]!;
    if (step.flags.submit) return Math.min(record.messages.length, step.message_index + 1);
  }
  return record.messages.length;
}

/** The messages after the final submit: how many, and how many characters they hold. */
export function afterSubmit(record: { messages: readonly Message[]; steps: readonly Step[] }): { messages: number; chars: number } {
  const from = trainingMessageCount(record);
  let chars = 0;
  for (const m of record.messages.slice(from)) chars += m.content.length + (m.reasoning_content?.length ?? 0);
  return { messages: record.messages.length - from, chars };
}

/**
 * An assistant turn with nothing in it (no text, no reasoning, no call): an empty reply teaches the
 * model to say nothing, so it is never trained, even in a resolved run.
 */
export function isEmptyTurn(m: { role: string; content: string; reasoning_content?: string | null; tool_calls?: readonly unknown[] | null }): boolean {
  return m.role === 'assistant' && m.content.trim() === '' && !m.reasoning_content?.trim() && !m.tool_calls?.length;
}

import type { Message, Step } from '../../schemas/index.js';
import { NO_FLAGS, mergeFlags } from './flags.js';
import type { MessageNote } from './types.js';

/**
 * One step per assistant turn that is not a demonstration. The turns after it (tool or user) up to the
 * next assistant turn are its observations; their flags and the turn's own flags make the step's flags.
 * A submit action also sets the submit flag.
 */
export function buildSteps(messages: readonly Message[], notes: readonly MessageNote[]): Step[] {
  const steps: Step[] = [];
  let open: Step | null = null;
  messages.forEach((m, i) => {
    const note = notes[i] ?? {};
    if (note.demo) {
      open = null;
      return;
    }
    if (m.role === 'assistant') {
      const flags = { ...NO_FLAGS };
      mergeFlags(flags, note.flags);
      const actions = note.actions ?? [];
      if (actions.some((a) => a.kind === 'submit')) flags.submit = true;
      open = { index: steps.length, message_index: i, actions, observation_indices: [], flags };
      steps.push(open);
      return;
    }
    if (m.role === 'system' || note.detached || !open) return;
    const step: Step = open;
    step.observation_indices.push(i);
    mergeFlags(step.flags, note.flags);
  });
  return steps;
}

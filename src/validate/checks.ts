import type { RowCheck } from './export.js';

/** loss is a property of assistant turns only: true or false there, null everywhere else. */
export const lossOnlyOnAssistantTurns: RowCheck = (row) => {
  for (const [i, m] of row.messages.entries()) {
    if (m.role !== 'assistant' && m.loss !== null) return `message ${i} (${m.role}) has loss=${m.loss}; only assistant turns may be trained.`;
    if (m.role === 'assistant' && m.loss === null) return `message ${i} (assistant) has loss=null; assistant turns must say true or false.`;
  }
  return null;
};

export const DEFAULT_ROW_CHECKS: RowCheck[] = [lossOnlyOnAssistantTurns];

import { isEmptyTurn } from '../core/training-text.js';
import type { RowCheck } from './export.js';

// Invariants every exported row must hold, whatever the config. `trajpipe validate` runs them on any
// export, so a shard edited by hand, or written by a buggy version, is caught before it trains a model.

const trainedIndices = (row: Parameters<RowCheck>[0]) => row.messages.flatMap((m, i) => (m.loss === true ? [i] : []));

/** loss is a property of assistant turns only: true or false there, null everywhere else. */
export const lossOnlyOnAssistantTurns: RowCheck = (row) => {
  for (const [i, m] of row.messages.entries()) {
    if (m.role !== 'assistant' && m.loss !== null) return `message ${i} (${m.role}) has loss=${m.loss}; only assistant turns may be trained.`;
    if (m.role === 'assistant' && m.loss === null) return `message ${i} (assistant) has loss=null; assistant turns must say true or false.`;
  }
  return null;
};

/** A row that trains nothing costs trainer compute and teaches nothing. */
export const atLeastOneTrainedTurn: RowCheck = (row) =>
  trainedIndices(row).length > 0 ? null : `no message has loss=true; every exported row must train at least one turn.`;

/** train_start and train_end bound the trained turns exactly: they are the first and last of them. */
export const trainedTurnsInsideSpan: RowCheck = (row) => {
  const trained = trainedIndices(row);
  if (trained.length === 0) return null; // atLeastOneTrainedTurn reports it
  const { train_start: start, train_end: end } = row;
  if (start === null || end === null) return `train_start/train_end are null but ${trained.length} turn(s) are trained.`;
  const outside = trained.find((i) => i < start || i > end);
  if (outside !== undefined) return `message ${outside} is trained but lies outside [train_start ${start}, train_end ${end}].`;
  if (trained[0] !== start || trained[trained.length - 1] !== end) {
    return `train_start ${start} / train_end ${end} are not the first and last trained messages (${trained[0]} and ${trained[trained.length - 1]}).`;
  }
  return null;
};

/** The row's credit-assignment policy from its metadata (absent: rising-segment). */
function policyOf(row: Parameters<RowCheck>[0]): string {
  try {
    const p = (JSON.parse(row.metadata) as { policy?: unknown }).policy;
    return typeof p === 'string' ? p : 'rising-segment';
  } catch {
    return 'rising-segment';
  }
}

/**
 * Resolved runs are trained on every agent turn (except empty ones, which are never trained); under
 * error-masking, also except the turns the environment answered with an error (the shard cannot show which).
 */
export const resolvedRunsFullyTrained: RowCheck = (row) => {
  if (row.outcome !== 'resolved' || policyOf(row) === 'error-masking') return null;
  const i = row.messages.findIndex((m) => m.role === 'assistant' && m.loss !== true && !isEmptyTurn(m));
  return i === -1 ? null : `message ${i} is an untrained assistant turn of a resolved run; resolved runs are trained whole.`;
};

/** An empty assistant turn (no text, reasoning or call) teaches the model to say nothing: never trained. */
export const noEmptyTrainedTurn: RowCheck = (row) => {
  const i = row.messages.findIndex((m) => m.loss === true && isEmptyTurn(m));
  return i === -1 ? null : `message ${i} is an empty assistant turn (no text, reasoning or tool call) and is trained.`;
};

/** A failed run's submission is what failed: it is never trained. */
export const failedRunSubmitNotTrained: RowCheck = (row) => {
  if (row.outcome === 'resolved') return null;
  let submits: unknown;
  try {
    submits = (JSON.parse(row.metadata) as { submit_message_indices?: unknown }).submit_message_indices;
  } catch {
    return `metadata is not valid JSON, so the submitting turn cannot be checked.`;
  }
  if (!Array.isArray(submits) || !submits.every((i) => Number.isInteger(i))) {
    return `metadata has no submit_message_indices, so the submitting turn of this ${row.outcome} run cannot be checked.`;
  }
  const trained = (submits as number[]).find((i) => row.messages[i]?.loss === true);
  return trained === undefined ? null : `message ${trained} is the submitting turn of a ${row.outcome} run and is trained.`;
};

/**
 * A row that declares its tools calls only those: a trainer renders `tools` into the prompt, and a call
 * to anything else teaches the model a tool it was never shown. Rows with tools = null (text-action
 * harnesses, logs that never recorded the list) have nothing to compare against and are not checked.
 */
export const toolCallsDeclared: RowCheck = (row) => {
  if (row.tools === null) return null;
  let specs: unknown;
  try {
    specs = JSON.parse(row.tools);
  } catch {
    return `tools is not valid JSON.`;
  }
  if (!Array.isArray(specs)) return `tools is not a JSON list of function specs.`;
  const declared = new Set<string>();
  for (const spec of specs as { name?: unknown; function?: { name?: unknown } }[]) {
    const name = spec?.function?.name ?? spec?.name;
    if (typeof name === 'string') declared.add(name);
  }
  if (declared.size === 0) return null;
  for (const [i, m] of row.messages.entries()) {
    for (const c of m.tool_calls ?? []) {
      if (!declared.has(c.function.name)) return `message ${i} calls tool "${c.function.name}", which the row's tools do not declare (${[...declared].sort().join(', ')}).`;
    }
  }
  return null;
};

/** Every tool result answers an earlier assistant tool call: a result without its call is a conversation that never happened. */
export const toolResultsAnswerCalls: RowCheck = (row) => {
  const calls = new Set<string>();
  for (const [i, m] of row.messages.entries()) {
    if (m.role === 'assistant') for (const c of m.tool_calls ?? []) calls.add(c.id);
    if (m.role !== 'tool') continue;
    if (m.tool_call_id === null) return `message ${i} is a tool result with no tool_call_id; it answers no call.`;
    if (!calls.has(m.tool_call_id)) return `message ${i} answers tool call ${JSON.stringify(m.tool_call_id)}, which no earlier assistant turn made.`;
  }
  return null;
};

/**
 * Loss weights (value-weighted rows) agree with the mask: a row is weighted on every assistant turn or on
 * none; a weight is set only on assistant turns, lies in [0, 1], is above 0 exactly where loss is true and
 * is 0 where loss is false. A trainer reading only `loss` then trains the same turns a weighted one does.
 */
export const weightsMatchLoss: RowCheck = (row) => {
  const weighted = row.messages.some((m) => typeof m.weight === 'number');
  if (!weighted) return null;
  for (const [i, m] of row.messages.entries()) {
    const w = m.weight ?? null;
    if (m.role !== 'assistant') {
      if (w !== null) return `message ${i} (${m.role}) has weight=${w}; only assistant turns carry a weight.`;
      continue;
    }
    if (w === null) return `message ${i} (assistant) has no weight, but other turns of the row are weighted; a row is weighted on every assistant turn or on none.`;
    if (!(w >= 0 && w <= 1)) return `message ${i} has weight=${w}, outside [0, 1].`;
    if (m.loss === true && !(w > 0)) return `message ${i} is trained (loss=true) with weight 0; a trained turn's weight is above 0.`;
    if (m.loss === false && w !== 0) return `message ${i} is not trained (loss=false) but has weight ${w}; an untrained turn's weight is 0.`;
  }
  return null;
};

export const DEFAULT_ROW_CHECKS: RowCheck[] = [
  lossOnlyOnAssistantTurns,
  atLeastOneTrainedTurn,
  trainedTurnsInsideSpan,
  resolvedRunsFullyTrained,
  noEmptyTrainedTurn,
  failedRunSubmitNotTrained,
  toolCallsDeclared,
  toolResultsAnswerCalls,
  weightsMatchLoss,
];

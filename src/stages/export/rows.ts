import type { PipelineRecord, SftMessage, SftRow } from '../../../schemas/index.js';
import { afterSubmit, isEmptyTurn, trainingMessageCount } from '../../core/training-text.js';

/**
 * Message indices whose assistant turn is trained: the segment's choice. Without a segment only a
 * resolved run may be trained (whole); a failed or unknown run trains nothing, never everything.
 */
export function trainedMessageIndices(record: PipelineRecord): Set<number> {
  const chosen = record.segment
    ? record.segment.trained_steps.map((s) => record.steps[s]!.message_index)
    : record.outcome.resolved === true
      ? record.steps.map((s) => s.message_index)
      : [];
  const upTo = exportedMessageCount(record);
  return new Set(chosen.filter((i) => i < upTo && !isEmptyTurn(record.messages[i]!)));
}

export function outcomeLabel(resolved: boolean | null): SftRow['outcome'] {
  return resolved === true ? 'resolved' : resolved === false ? 'failed' : 'unknown';
}

/**
 * How many messages are exported: everything up to the segment's cut (causal attention makes later turns
 * irrelevant), and never past the final submitting turn (what follows it is not training text; it stays
 * in the canonical record and is counted in the row's metadata).
 */
export function exportedMessageCount(record: PipelineRecord): number {
  const cut = record.segment?.cut_after;
  const upTo = trainingMessageCount(record);
  return cut === null || cut === undefined ? upTo : Math.min(upTo, cut + 1);
}



/** Message index -> loss weight, when the segment weights its steps (value-weighted); null when unweighted. */
function messageWeights(record: PipelineRecord): Map<number, number> | null {
  const w = record.segment?.weights;
  if (!w) return null;
  return new Map(record.steps.map((s, i) => [s.message_index, w[i] ?? 0]));
}

/** Turns a pipeline record into an exported row with per-message loss flags. */
export function toSftRow(record: PipelineRecord): SftRow {
  const trained = trainedMessageIndices(record);
  const valueOfMessage = new Map<number, number>();
  const values = record.values?.values;
  if (values) record.steps.forEach((s, i) => values[i] !== undefined && valueOfMessage.set(s.message_index, values[i]!));

  const weightOf = messageWeights(record);
  const messages: SftMessage[] = record.messages.slice(0, exportedMessageCount(record)).map((m, i) => ({
    role: m.role,
    content: m.content,
    reasoning_content: m.reasoning_content ?? null,
    tool_calls: m.tool_calls ? m.tool_calls.map((c) => ({ id: c.id, type: c.type, function: { name: c.function.name, arguments: c.function.arguments } })) : null,
    tool_call_id: m.tool_call_id ?? null,
    name: m.name ?? null,
    loss: m.role === 'assistant' ? trained.has(i) : null,
    step_value: m.role === 'assistant' ? (valueOfMessage.get(i) ?? null) : null,
    // null on every message of an unweighted row; in a weighted one, 0 on every untrained assistant turn.
    weight: weightOf && m.role === 'assistant' ? (trained.has(i) ? (weightOf.get(i) ?? 0) : 0) : null,
  }));
  const trainedList = [...trained].sort((a, b) => a - b);
  const after = afterSubmit(record);
  return {
    id: record.id,
    task_id: record.task_id,
    source: `${record.source.harness}/${record.source.format}`,
    teacher_model: record.source.teacher_model,
    outcome: outcomeLabel(record.outcome.resolved),
    messages,
    tools: record.tools ? JSON.stringify(record.tools) : null,
    // The span of the turns actually trained (the segment's, unless an empty turn at its edge was left out).
    train_start: trainedList[0] ?? null,
    train_end: trainedList[trainedList.length - 1] ?? null,
    step_values: values ?? null,
    curve_shape: record.segment?.shape ?? null,
    labeler: record.values?.labeler ?? null,
    prompt_version: record.values?.prompt_version ?? null,
    metadata: JSON.stringify({
      task: record.task,
      exit_status: record.outcome.exit_status,
      label_source: record.outcome.label_source,
      source_file: record.source.file,
      source_record: record.source.record,
      labeler_model: record.values?.model ?? null,
      peak_step: record.segment?.peak_step ?? null,
      critical_step: record.segment?.critical_step ?? null,
      segment_note: record.segment?.note ?? null,
      // The credit-assignment policy, when not the default rising-segment (validate relaxes its checks by it).
      ...(record.segment?.policy && record.segment.policy !== 'rising-segment' ? { policy: record.segment.policy } : {}),
      messages_cut: record.messages.length - exportedMessageCount(record),
      // Messages after the final submit (kept in the canonical record, not exported), and their size.
      messages_after_submit: after.messages,
      chars_after_submit: after.chars,
      // Lets `trajpipe validate` prove from the shard alone that no failed run's submitting turn is trained.
      submit_message_indices: record.steps.filter((s) => s.flags.submit).map((s) => s.message_index),
      meta: record.meta,
    }),
  };
}

/** Rough uncompressed size, for shard and row-group sizing (exactness does not matter here). */
export function approxRowBytes(row: SftRow): number {
  let n = row.metadata.length + (row.tools?.length ?? 0) + 256;
  for (const m of row.messages) n += m.content.length + (m.reasoning_content?.length ?? 0) + 64;
  return n;
}

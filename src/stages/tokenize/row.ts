import type { ChatTokenizer } from './template.js';
import { render } from './template.js';
import { argumentsAsObject, parseTools, templateMessages, type ArgumentsMode, type ShardMessage } from './messages.js';
import { trainedSpans } from './spans.js';
import { countTrained, encodeWithSpans } from './encode.js';
import { fitToLength } from './truncate.js';
import type { TokenizedRow } from './schema.js';

export interface RowSettings {
  tok: ChatTokenizer;
  prompt: string;
  endOfTurn: string;
  argumentsMode: ArgumentsMode;
  kwargs: Record<string, unknown>;
  maxSeqLen: number | null;
}

/** One exported row, as read from an export shard. */
export interface ExportRow {
  id: string;
  task_id: string;
  outcome: string;
  messages: ShardMessage[];
  tools: string | null;
}

export type RowResult = { row: TokenizedRow; untruncatedTokens: number } | { reason: string; message: string };

/** Thrown for a mask that would train nothing or everything: a bug in the template handling, never bad data. */
export class MaskError extends Error {
  override name = 'MaskError';
}

export function tokenizeRow(row: ExportRow, s: RowSettings): RowResult {
  const tools = parseTools(row.tools);
  if (tools && !Array.isArray(tools)) return { reason: 'bad-tools-json', message: `its tools column ${tools.error}` };
  let rendered: string;
  try {
    rendered = render(s.tok, { messages: templateMessages(row.messages, argumentsAsObject(s.tok, s.argumentsMode)), tools, addGenerationPrompt: false, kwargs: s.kwargs });
  } catch (err) {
    return { reason: 'template-error', message: `the chat template refuses it (${(err as Error).message})` };
  }
  const found = trainedSpans(
    rendered,
    row.messages.map((m) => m.role),
    row.messages.map((m) => m.loss),
    s.prompt,
    s.endOfTurn,
  );
  if ('reason' in found) return found;
  const encoded = encodeWithSpans(s.tok, rendered, found.spans);
  if ('reason' in encoded) return encoded;
  const trained = countTrained(encoded.labels);
  if (trained === 0 || trained === encoded.labels.length) {
    throw new MaskError(
      `Row ${row.id}: the trained-token mask is all ${trained === 0 ? 'zero' : 'one'} (${encoded.labels.length} tokens); the chat template is not handled correctly, so no shard is written.`,
    );
  }
  const fitted = fitToLength(encoded.inputIds, encoded.labels, s.maxSeqLen);
  if ('reason' in fitted) return fitted;
  const n = fitted.inputIds.length;
  return {
    row: {
      id: row.id,
      task_id: row.task_id,
      outcome: row.outcome,
      input_ids: fitted.inputIds,
      labels: fitted.labels,
      attention_mask: new Array<number>(n).fill(1),
      num_tokens: n,
      trained_tokens: countTrained(fitted.labels),
      truncated: fitted.truncated,
    },
    untruncatedTokens: encoded.inputIds.length,
  };
}

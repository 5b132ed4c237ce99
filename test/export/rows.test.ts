import { describe, expect, it } from 'vitest';
import { SegmentConfig, SftRow, type PipelineRecord } from '../../schemas/index.js';
import { toSftRow } from '../../src/stages/export/rows.js';
import { decideSegment } from '../../src/stages/segment/decide.js';
import {
  DEFAULT_ROW_CHECKS,
  atLeastOneTrainedTurn,
  failedRunSubmitNotTrained,
  lossOnlyOnAssistantTurns,
  noEmptyTrainedTurn,
  resolvedRunsFullyTrained,
  toolCallsDeclared,
  toolResultsAnswerCalls,
  trainedTurnsInsideSpan,
} from '../../src/validate/checks.js';
import { assistantIndex, makeRecord } from '../segment/fixtures.js';

function segmented(record: PipelineRecord, cfg: Record<string, unknown> = {}): PipelineRecord {
  const d = decideSegment(record, SegmentConfig.parse(cfg));
  if (d.kind !== 'train') throw new Error(`fixture was dropped: ${d.reason}`);
  return { ...record, segment: d.segment };
}

const problems = (row: SftRow) => DEFAULT_ROW_CHECKS.map((c) => c(row)).filter((p) => p !== null);

describe('toSftRow: loss masks and the cut', () => {
  const failed = makeRecord({ name: 'f', resolved: false, steps: 5, values: [0.3, 0.5, 0.7, 0.4, 0.2] });

  it('a failed run: loss true up to the peak, messages cut after the last trained turn, values per assistant turn', () => {
    const row = SftRow.parse(toSftRow(segmented(failed)));
    expect(row.messages).toHaveLength(assistantIndex(2) + 1);
    expect(row.messages.map((m) => m.loss)).toEqual([null, null, true, null, true, null, true]);
    expect(row.messages.map((m) => m.step_value)).toEqual([null, null, 0.3, null, 0.5, null, 0.7]);
    expect(row).toMatchObject({ outcome: 'failed', train_start: 2, train_end: 6, curve_shape: 'inverted-u', labeler: 'heuristic', prompt_version: 'test-1' });
    expect(row.step_values).toEqual([0.3, 0.5, 0.7, 0.4, 0.2]);
    expect(JSON.parse(row.metadata)).toMatchObject({ peak_step: 2, critical_step: 3, messages_cut: 5, submit_message_indices: [assistantIndex(4)] });
    expect(problems(row)).toEqual([]);
  });

  it('keep_after_span keeps the whole run with the later assistant turns masked (false), never trained', () => {
    const row = SftRow.parse(toSftRow(segmented(failed, { keep_after_span: true })));
    // Everything up to the final submitting turn; the submit's answer after it is not training text.
    expect(row.messages).toHaveLength(failed.messages.length - 1);
    expect(row.messages.filter((m) => m.role === 'assistant').map((m) => m.loss)).toEqual([true, true, true, false, false]);
    expect(problems(row)).toEqual([]);
  });

  it('a resolved run is trained on every assistant turn and passes every check', () => {
    const row = SftRow.parse(toSftRow(segmented(makeRecord({ name: 'ok', resolved: true, steps: 3 }))));
    expect(row.messages.filter((m) => m.role === 'assistant').every((m) => m.loss === true)).toBe(true);
    expect(row.messages.filter((m) => m.role !== 'assistant').every((m) => m.loss === null)).toBe(true);
    expect(problems(row)).toEqual([]);
  });

  it('without a segment a failed run trains nothing (never everything)', () => {
    const row = SftRow.parse(toSftRow(failed));
    expect(row.messages.some((m) => m.loss === true)).toBe(false);
  });
});

describe('after the final submit, and empty turns', () => {
  it('messages after the final submitting turn are not exported, but counted in metadata', () => {
    const record = makeRecord({ name: 'diff', resolved: true, steps: 3 });
    const hugeDiff = 'diff --git a/x b/x\n' + '+line\n'.repeat(20_000);
    record.messages[record.messages.length - 1]!.content = hugeDiff;
    const row = SftRow.parse(toSftRow(segmented(record)));
    expect(row.messages).toHaveLength(record.messages.length - 1);
    expect(row.messages[row.messages.length - 1]).toMatchObject({ role: 'assistant', loss: true });
    expect(row.messages.some((m) => m.content === hugeDiff)).toBe(false);
    expect(JSON.parse(row.metadata)).toMatchObject({ messages_after_submit: 1, chars_after_submit: hugeDiff.length, messages_cut: 1 });
    expect(problems(row)).toEqual([]);
  });

  it('a run that never submits keeps every message', () => {
    const record = makeRecord({ name: 'nosub', resolved: true, steps: 3, submitLast: false });
    const row = SftRow.parse(toSftRow(segmented(record)));
    expect(row.messages).toHaveLength(record.messages.length);
    expect(JSON.parse(row.metadata)).toMatchObject({ messages_after_submit: 0 });
  });

  it('an empty assistant turn is never trained, even in a resolved run, and validate accepts that', () => {
    const record = makeRecord({ name: 'empty', resolved: true, steps: 3 });
    const i = assistantIndex(1);
    record.messages[i] = { role: 'assistant', content: '  ' };
    record.messages[i + 1] = { role: 'user', content: 'Your last output had no command.' };
    const row = SftRow.parse(toSftRow(segmented(record)));
    expect(row.messages[i]!.loss).toBe(false);
    expect(row.messages.filter((m) => m.loss === true)).toHaveLength(2);
    expect(problems(row)).toEqual([]);
    row.messages[i]!.loss = true;
    expect(noEmptyTrainedTurn(row)).toBe('message 4 is an empty assistant turn (no text, reasoning or tool call) and is trained.');
  });
});

describe('row checks catch each broken invariant', () => {
  const good = () => SftRow.parse(toSftRow(segmented(makeRecord({ name: 'f', resolved: false, steps: 5, values: [0.3, 0.5, 0.7, 0.4, 0.2] }), { keep_after_span: true })));
  const resolved = () => SftRow.parse(toSftRow(segmented(makeRecord({ name: 'ok', resolved: true, steps: 3 }))));

  it('a trained observation', () => {
    const row = good();
    row.messages[3]!.loss = true;
    expect(lossOnlyOnAssistantTurns(row)).toBe('message 3 (tool) has loss=true; only assistant turns may be trained.');
  });

  it('a row with nothing trained', () => {
    const row = good();
    for (const m of row.messages) if (m.loss) m.loss = false;
    expect(atLeastOneTrainedTurn(row)).toMatch(/no message has loss=true/);
  });

  it('a trained turn outside [train_start, train_end], and a span that does not match its turns', () => {
    const row = good();
    row.messages[assistantIndex(3)]!.loss = true;
    expect(trainedTurnsInsideSpan(row)).toBe('message 8 is trained but lies outside [train_start 2, train_end 6].');
    const loose = good();
    loose.train_end = 8;
    expect(trainedTurnsInsideSpan(loose)).toMatch(/not the first and last trained messages/);
  });

  it('a resolved run with a masked assistant turn', () => {
    const row = resolved();
    row.messages[assistantIndex(1)]!.loss = false;
    expect(resolvedRunsFullyTrained(row)).toBe('message 4 is an untrained assistant turn of a resolved run; resolved runs are trained whole.');
  });

  it("a failed run's trained submission, and a failed row that cannot prove otherwise", () => {
    const row = good();
    row.messages[assistantIndex(4)]!.loss = true;
    expect(failedRunSubmitNotTrained(row)).toBe('message 10 is the submitting turn of a failed run and is trained.');
    const bare = good();
    bare.metadata = '{}';
    expect(failedRunSubmitNotTrained(bare)).toMatch(/no submit_message_indices/);
    expect(failedRunSubmitNotTrained(resolved())).toBeNull();
  });

  it('a call to a tool the row does not declare (only rows that declare tools are checked)', () => {
    const row = resolved();
    row.tools = JSON.stringify([{ type: 'function', function: { name: 'bash', parameters: { type: 'object', properties: {} } } }]);
    expect(toolCallsDeclared(row)).toBe('message 6 calls tool "submit", which the row\'s tools do not declare (bash).');
    row.tools = JSON.stringify([{ type: 'function', function: { name: 'bash' } }, { type: 'function', function: { name: 'submit' } }]);
    expect(toolCallsDeclared(row)).toBeNull();
    row.tools = null;
    expect(toolCallsDeclared(row)).toBeNull();
  });

  it('a tool result without its call', () => {
    const row = resolved();
    row.messages[assistantIndex(1)]!.tool_calls = null;
    expect(toolResultsAnswerCalls(row)).toBe('message 5 answers tool call "call_ok_1", which no earlier assistant turn made.');
    const noId = resolved();
    noId.messages[3]!.tool_call_id = null;
    expect(toolResultsAnswerCalls(noId)).toBe('message 3 is a tool result with no tool_call_id; it answers no call.');
    expect(problems(resolved())).toEqual([]);
  });
});

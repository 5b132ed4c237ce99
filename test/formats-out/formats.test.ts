// The trainer formats of the sample build, each checked field by field against the trainer's own loader code
// (named per test; read in the trainers' repositories), and against the export rows they came from.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Reject, SftMessage, StageManifest } from '../../schemas/index.js';
import { canonicalJson } from '../../src/core/hash.js';
import { conform, finalize, merge, typeOf } from '../../src/stages/formats/nested-type.js';
import { duckQuery } from '../helpers/duckdb.js';
import { readJsonl, runPipelineWith, tempDir } from '../dedup/helpers.js';

interface ExportRow {
  id: string;
  messages: SftMessage[];
  tools: string | null;
  metadata: string;
}

const exportRows = async (out: string) =>
  (await duckQuery(`SELECT id, messages, tools, metadata FROM read_parquet('${out}/export/data/*.parquet') ORDER BY id`)) as unknown as ExportRow[];
/** Messages up to the last trained turn: what every written format keeps. */
const trimmed = (msgs: SftMessage[]) => msgs.slice(0, msgs.map((m) => m.loss === true).lastIndexOf(true) + 1);
const allTrained = (msgs: SftMessage[]) => msgs.filter((m) => m.role === 'assistant').every((m) => m.loss === true);
/** What an OpenAI-form message must hold: the export's values, null keys left out. */
const openAi = (m: SftMessage) =>
  Object.fromEntries(
    Object.entries({ role: m.role, content: m.content, reasoning_content: m.reasoning_content, tool_calls: m.tool_calls, tool_call_id: m.tool_call_id, name: m.name }).filter(
      ([, v]) => v !== null,
    ),
  );
/** A nested value read back from Parquet with the padding nulls removed. */
const stripNulls = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(stripNulls) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, stripNulls(x)])) : v;

async function build(sets: string[] = []) {
  const out = join(await tempDir('formats'), 'out');
  await runPipelineWith('data/sample', out, sets, 'pipelines/sample.yaml');
  return out;
}

describe('trainer formats on the sample build', () => {
  let out: string;
  let rows: ExportRow[];
  beforeAll(async () => {
    out = await build();
    rows = await exportRows(out);
  }, 300_000);

  it('slime: step_loss_mask per message equals the export loss; tools a list; metadata an object (slime/utils/data.py, slime/utils/mask_utils.py)', async () => {
    const lines = await readJsonl<{ id: string; messages: Record<string, unknown>[]; tools: unknown; metadata: unknown }>(join(out, 'formats', 'slime', 'train.jsonl'));
    expect(lines.map((l) => l.id).sort()).toEqual(rows.map((r) => r.id));
    for (const l of lines) {
      const row = rows.find((r) => r.id === l.id)!;
      const want = trimmed(row.messages);
      expect(l.messages.map((m) => m.step_loss_mask)).toEqual(want.map((m) => (m.loss === true ? 1 : 0)));
      expect(l.messages.map(({ step_loss_mask: _, ...m }) => m)).toEqual(want.map(openAi));
      // data.py: `assert isinstance(tools, list)` under --tool-key; metadata["tools"] = tools needs a dict.
      expect(Array.isArray(l.tools)).toBe(true);
      expect(l.tools).toEqual(row.tools ? JSON.parse(row.tools) : []);
      expect(typeof l.metadata === 'object' && l.metadata !== null && !Array.isArray(l.metadata)).toBe(true);
      expect(l.metadata).toMatchObject({ ...JSON.parse(row.metadata), id: row.id });
    }
  });

  it('NeMo-RL: every row ends with an assistant message and trains only trained turns (oai_format_dataset.py, llm_message_utils.py)', async () => {
    const lines = await readJsonl<{ messages: Record<string, unknown>[]; tools?: unknown }>(join(out, 'formats', 'nemo-rl', 'train.jsonl'));
    const exact = rows.filter((r) => allTrained(trimmed(r.messages)));
    expect(lines).toHaveLength(exact.length);
    // format_data: `assert messages[-1]["role"] == "assistant"`.
    for (const l of lines) expect(l.messages.at(-1)!.role).toBe('assistant');
    // The lines carry no id (NeMo-RL reads only messages and tools): compare the conversations as a set.
    const key = (msgs: unknown[]) => canonicalJson(msgs);
    expect(lines.map((l) => key(l.messages)).sort()).toEqual(exact.map((r) => key(trimmed(r.messages).map(openAi))).sort());
  });

  it('veRL: messages and tools are nested columns, tools never null, and read back equal to the export (multiturn_sft_dataset.py)', async () => {
    const types = Object.fromEntries(
      (await duckQuery(`DESCRIBE SELECT * FROM read_parquet('${out}/formats/verl/*.parquet')`)).map((r) => [r['column_name'], String(r['column_type'])]),
    );
    expect(types['messages']).toMatch(/^STRUCT\("role" VARCHAR, "content" VARCHAR, .*tool_calls STRUCT\(.*\)\[\].*\)\[\]$/);
    expect(types['tools']).toMatch(/^STRUCT\(.*"function" STRUCT\(.*parameters STRUCT\(.*\)\[\]$/);
    const back = (await duckQuery(`SELECT id, messages, tools FROM read_parquet('${out}/formats/verl/*.parquet') ORDER BY id`)) as unknown as {
      id: string;
      messages: Record<string, unknown>[];
      tools: unknown[] | null;
    }[];
    expect(back.map((b) => b.id)).toEqual(rows.filter((r) => allTrained(trimmed(r.messages))).map((r) => r.id));
    for (const b of back) {
      const row = rows.find((r) => r.id === b.id)!;
      expect(b.tools).not.toBeNull();
      expect(stripNulls(b.tools)).toEqual(row.tools ? JSON.parse(row.tools) : []);
      expect(stripNulls(b.messages)).toEqual(trimmed(row.messages).map(openAi));
    }
  });

  it('LLaMA-Factory: ShareGPT turns alternate as SharegptDatasetConverter requires, calls as FunctionFormatter parses them, dataset_info.json names the columns (converter.py, formatter.py)', async () => {
    const info = JSON.parse(await readFile(join(out, 'formats', 'llamafactory', 'dataset_info.json'), 'utf8'));
    expect(info.trajpipe_sft).toEqual({
      file_name: 'train.jsonl',
      formatting: 'sharegpt',
      columns: { messages: 'conversations', system: 'system', tools: 'tools' },
      tags: { role_tag: 'from', content_tag: 'value', user_tag: 'human', assistant_tag: 'gpt', observation_tag: 'observation', function_tag: 'function_call', system_tag: 'system' },
    });
    const lines = await readJsonl<{ conversations: { from: string; value: string }[]; system: string; tools: string }>(join(out, 'formats', 'llamafactory', 'train.jsonl'));
    const rejects = (await readJsonl<Reject>(join(out, 'formats', 'rejects.jsonl'))).filter((r) => r.reason.startsWith('llamafactory-'));
    expect(lines.length + rejects.length).toBe(rows.length);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      // converter.py: accept_tags[turn_idx % 2], (human, observation) then (gpt, function_call); an even count.
      l.conversations.forEach((t, i) => expect(i % 2 === 0 ? ['human', 'observation'] : ['gpt', 'function_call']).toContain(t.from));
      expect(l.conversations.length % 2).toBe(0);
      expect(typeof l.system).toBe('string');
      expect(typeof l.tools).toBe('string');
      for (const t of l.conversations.filter((x) => x.from === 'function_call')) {
        // formatter.py: tool_call_words ("<tool_call>", "</tool_call>"), JSON {"name", "arguments"} (or a list of them).
        const m = /<tool_call>(.*?)<\/tool_call>/s.exec(t.value);
        expect(m).not.toBeNull();
        const calls = [JSON.parse(m![1]!)].flat() as { name: string; arguments: unknown }[];
        for (const c of calls) {
          expect(typeof c.name).toBe('string');
          expect(typeof c.arguments === 'object' && c.arguments !== null).toBe(true);
        }
      }
    }
  });

  it('TRL: prompt/completion only where the completion is the one trained turn; every other row listed (sft_trainer.py)', async () => {
    const lines = await readJsonl<{ id: string; prompt: Record<string, unknown>[]; completion: Record<string, unknown>[]; tools: string | null }>(join(out, 'formats', 'trl', 'train.jsonl'));
    const exact = rows.filter((r) => trimmed(r.messages).filter((m) => m.loss === true).length === 1);
    expect(lines.map((l) => l.id).sort()).toEqual(exact.map((r) => r.id));
    for (const l of lines) {
      const t = trimmed(rows.find((r) => r.id === l.id)!.messages);
      expect([...l.prompt, ...l.completion]).toEqual(t.map(openAi));
      expect(l.completion).toHaveLength(1);
      expect(l.completion[0]!.role).toBe('assistant');
    }
    const rejects = (await readJsonl<Reject>(join(out, 'formats', 'rejects.jsonl'))).filter((r) => r.reason === 'trl-several-trained-turns');
    expect(rejects.length + lines.length).toBe(rows.length);
  });

  it('axolotl and ms-swift: a README with the config lines their loaders need, over the export shards', async () => {
    const axolotl = await readFile(join(out, 'formats', 'axolotl', 'README.md'), 'utf8');
    expect(axolotl).toContain('message_field_training: loss');
    expect(axolotl).toContain('field_tools: tools');
    const swift = await readFile(join(out, 'formats', 'ms-swift', 'README.md'), 'utf8');
    expect(swift).toMatch(/reasoning_content` is silently discarded/);
    const index = await readFile(join(out, 'formats', 'README.md'), 'utf8');
    for (const t of ['verl', 'slime', 'nemo-rl', 'axolotl', 'ms-swift']) expect(index).toContain(`[${t}](${t}/README.md)`);
  });

  it('accounts for every row of every written format: in = rows x formats = written + skipped', async () => {
    const m = JSON.parse(await readFile(join(out, 'formats', 'manifest.json'), 'utf8')) as StageManifest;
    const writing = ['verl', 'slime', 'nemo-rl', 'llamafactory', 'trl'].filter((t) => m.stats[t]);
    expect(m.records_in).toBe(rows.length * writing.length);
    expect(m.records_in).toBe(m.records_out + Object.values(m.dropped).reduce((a, b) => a + b, 0));
  });
});

describe('trainer formats when a masked assistant turn precedes a trained one (segment.strict: the first turn is never trained)', () => {
  let out: string;
  let rows: ExportRow[];
  beforeAll(async () => {
    out = await build(['segment.strict=true']);
    rows = await exportRows(out);
  }, 300_000);

  it('veRL and NeMo-RL write only exact rows and list the others with a reason; slime keeps them all with their masks', async () => {
    const inexact = rows.filter((r) => !allTrained(trimmed(r.messages)));
    expect(inexact.length).toBeGreaterThan(0);
    const rejects = await readJsonl<Reject>(join(out, 'formats', 'rejects.jsonl'));
    for (const reason of ['verl-masked-assistant-turn', 'nemo-rl-masked-assistant-turn']) {
      expect(rejects.filter((r) => r.reason === reason).map((r) => r.id).sort()).toEqual(inexact.map((r) => r.id));
    }
    const slime = await readJsonl<{ id: string; messages: { step_loss_mask: number; role: string }[] }>(join(out, 'formats', 'slime', 'train.jsonl'));
    expect(slime).toHaveLength(rows.length);
    expect(slime.some((l) => l.messages.some((m) => m.role === 'assistant' && m.step_loss_mask === 0))).toBe(true);
  });
});

describe('nested type for veRL tools', () => {
  it('merges specs into one struct; missing keys become null; conflicting values are kept as JSON text', () => {
    const a = { type: 'function', function: { name: 'bash', parameters: { properties: { command: { type: 'string' } } } } };
    const b = { type: 'function', function: { name: 'edit', parameters: { properties: { path: { type: 'string' }, line: { type: 'integer' } } } } };
    const c = { type: 'function', function: { name: 'x', parameters: { properties: { command: 'oops' } } } };
    const t = finalize(merge(typeOf([a]), typeOf([b, c])));
    const counter = { padded: 0, asJson: 0 };
    const out = conform([a], t, counter) as { function: { parameters: { properties: Record<string, unknown> } } }[];
    expect(out[0]!.function.parameters.properties).toEqual({ command: JSON.stringify({ type: 'string' }), line: null, path: null });
    expect(counter).toEqual({ padded: 2, asJson: 1 });
  });
});

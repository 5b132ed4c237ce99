import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/formats/detect.js';
import { FormatError, type AdapterContext } from '../../src/formats/types.js';
import { tempDir } from '../helpers/cli.js';
import { ingest, type IngestResult } from '../ingest/helpers.js';

// A message with a role no chat template knows, or a tool call that is not a call (`tool_calls: [null]`),
// used to vanish: the exported row then held a tool result without its call. Every reader now rejects
// the record as malformed-message, naming the file, the record and the message.

const NATIVE = 'data/sample/native';
const ctx = (file: string): AdapterContext => ({ file, record: 0, dataset: { messages_column: null, resolved_column: null, task_id_column: null } });
type J = Record<string, any>;
const load = async (path: string): Promise<J> => JSON.parse(await readFile(join(NATIVE, path), 'utf8')) as J;
const firstLine = async (path: string): Promise<J> => JSON.parse((await readFile(join(NATIVE, path), 'utf8')).split('\n')[0]!) as J;

function rejection(value: unknown, file: string): FormatError {
  const d = detectFormat(value, ctx(file));
  if (d.kind !== 'adapter') throw new Error(`not detected: ${d.kind}`);
  try {
    d.adapter.convert(value, ctx(file));
  } catch (err) {
    if (err instanceof FormatError) return err;
    throw err;
  }
  throw new Error('accepted');
}

/** Each native sample, broken two ways: an unknown role, and a null entry in an assistant turn's tool_calls. */
async function broken(): Promise<{ name: string; file: string; value: J; where: string }[]> {
  const out: { name: string; file: string; value: J; where: string }[] = [];
  const completion = 'openhands-completions/trajs/acme__pager-12/teacher-large-2026-1767225600.5.json';
  {
    const v = await load(completion);
    v.fncall_messages.splice(3, 0, { role: 'developer', content: 'note' });
    out.push({ name: 'completion log, unknown role', file: completion, value: v, where: 'fncall_messages[3] has role "developer"' });
    const w = await load(completion);
    w.fncall_messages[2].tool_calls = [null];
    out.push({ name: 'completion log, tool_calls [null]', file: completion, value: w, where: 'fncall_messages[2]: tool call 0 is null' });
  }
  const swe = 'swe-agent-1.x/acme__dates-9.traj';
  {
    const v = await load(swe);
    v.history.splice(4, 0, { role: 'critic', content: 'hm', agent: 'main' });
    out.push({ name: 'SWE-agent 1.x, unknown role', file: swe, value: v, where: 'history[4] has role "critic"' });
    const w = await load(swe);
    w.history[2].tool_calls = [null];
    out.push({ name: 'SWE-agent 1.x, tool_calls [null]', file: swe, value: w, where: 'history[2]: tool call 0 is null' });
  }
  const mini = 'mini-swe-agent-2/acme__pager-12.traj.json';
  {
    const v = await load(mini);
    v.messages.splice(3, 0, { role: 'developer', content: 'x' });
    out.push({ name: 'mini-swe-agent v2, unknown role', file: mini, value: v, where: 'messages[3] has role "developer"' });
    const w = await load(mini);
    w.messages[4].tool_calls = [null];
    out.push({ name: 'mini-swe-agent v2, tool_calls [null]', file: mini, value: w, where: 'messages[4]: tool call 0 is null' });
  }
  const rows = 'hf/swe-smith-style.jsonl';
  {
    const w = await firstLine(rows);
    w.messages[2].tool_calls = [{ type: 'function', function: { arguments: '{}' } }];
    out.push({ name: 'chat row, call without a name', file: rows, value: w, where: 'messages[2]: tool call 0 is {"type":"function"' });
  }
  return out;
}

describe('readers reject messages they cannot place', async () => {
  const cases = await broken();
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const err = rejection(c.value, c.file);
    expect(err.reason).toBe('malformed-message');
    expect(err.message).toContain(`Record 0 of ${c.file}, ${c.where}`);
  });

  it('a chat row with an unknown role is no chat row: rejected as unknown-shape, not read without it', async () => {
    const v = await firstLine('hf/swe-smith-style.jsonl');
    v.messages.splice(2, 0, { role: 'critic', content: 'x' });
    expect(detectFormat(v, ctx('rows.jsonl')).kind).toBe('unknown');
  });

  it('the unbroken samples are still read', async () => {
    for (const c of cases) {
      const d = detectFormat(c.file.endsWith('.jsonl') ? await firstLine(c.file) : await load(c.file), ctx(c.file));
      expect(d.kind, c.file).toBe('adapter');
    }
  });
});

describe('ingest accounts for them as rejects', () => {
  let result: IngestResult;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('trajpipe-malformed-msg-');
    const cases = await broken();
    const completion = cases.find((c) => c.name === 'completion log, tool_calls [null]')!;
    await mkdir(join(dir, 'trajs/acme__pager-12'), { recursive: true });
    await writeFile(join(dir, 'trajs/acme__pager-12/teacher-large-2026-1767225600.5.json'), JSON.stringify(completion.value));
    const rows = cases.filter((c) => c.file.endsWith('.jsonl')).map((c) => JSON.stringify(c.value));
    await writeFile(join(dir, 'rows.jsonl'), [JSON.stringify(await firstLine('hf/swe-smith-style.jsonl')), ...rows].join('\n') + '\n');
    result = await ingest([dir]);
  }, 60_000);

  it('rejects each broken record with its file and record, and keeps the good one', () => {
    const got = result.rejects.map((r) => [relative(dir, r.file!), r.record, r.reason]);
    expect(got).toEqual([
      ['rows.jsonl', 2, 'malformed-message'], // the 1-based line: the good row is line 1
      ['trajs/acme__pager-12/teacher-large-2026-1767225600.5.json', 0, 'malformed-message'],
    ]);
    expect(result.manifest.dropped).toEqual({ 'malformed-message': 2 });
    expect(result.records).toHaveLength(1);
  });
});

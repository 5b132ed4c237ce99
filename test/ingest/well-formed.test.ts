import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { wellFormedDeep } from '../../src/core/text.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { duckQuery } from '../helpers/duckdb.js';
import { readManifest } from '../../src/runner/runner.js';

describe('lone UTF-16 surrogates', () => {
  it('become U+FFFD in nested values, keys included', () => {
    const v = wellFormedDeep({ a: ['ok', 'cut \ud83d'], ['k\udc00']: { b: 'fine 😀' } });
    expect(v).toEqual({ a: ['ok', 'cut \ufffd'], ['k\ufffd']: { b: 'fine 😀' } });
  });

  it('are normalised at ingest, so the exported text equals the canonical record', async () => {
    const dir = await tempDir();
    const rows = join(dir, 'rows.jsonl');
    // A chat-dataset row whose observation was cut in the middle of an emoji (escaped, as JSON allows).
    const row = {
      instance_id: 'acme__emoji-1',
      resolved: true,
      messages: [
        { role: 'system', content: 'You are an agent.' },
        { role: 'user', content: 'Fix the bug.' },
        { role: 'assistant', content: 'Look.', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'bash', arguments: '{"command":"cat log"}' } }] },
        { role: 'tool', content: 'PLACEHOLDER', tool_call_id: 'c1', name: 'bash' },
        { role: 'assistant', content: 'Done.', tool_calls: [{ id: 'c2', type: 'function', function: { name: 'submit', arguments: '{}' } }] },
        { role: 'tool', content: 'submitted', tool_call_id: 'c2', name: 'submit' },
      ],
    };
    await writeFile(rows, JSON.stringify(row).replace('PLACEHOLDER', 'output cut \\ud83d') + '\n');
    const out = join(dir, 'out');
    const r = await runCli(['run', '--input', rows, '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const ingest = await readManifest(join(out, 'ingest'));
    expect(ingest!.records_out).toBe(1);
    const part = JSON.parse(await readFile(join(out, 'ingest', ingest!.outputs[0]!.path), 'utf8'));
    expect(part.messages[3].content).toBe('output cut \ufffd');
    const got = await duckQuery(`SELECT messages[4].content AS c FROM read_parquet('${out}/export/data/*.parquet')`);
    expect(got[0]!['c']).toBe('output cut \ufffd');
  });
});

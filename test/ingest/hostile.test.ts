import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Reject, StageManifest, Trajectory } from '../../schemas/index.js';
import { hashTree, runCli, tempDir } from '../helpers/cli.js';
import { ingest } from './helpers.js';

// Issue 15, "hostile trajectories": a folder of every kind of malformed input the wild produces, beside
// good runs. The CLI must exit 0, reject each hostile file with a reason that names it, and export
// exactly what it exports for the good runs alone. The 300 MB line runs here against a lowered cap
// (ingest.max_line_bytes = 1 MiB, same code path); the real 300 MB figure is measured by
// `npm run bench:hostile` (docs/robustness.md).

const NATIVE = 'data/sample/native';
const LINE_CAP = 1 << 20;

/** Deterministic bytes (xorshift32): binary files with a trajectory's extension. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

const nested = (n: number): string => '['.repeat(n) + ']'.repeat(n);

async function writeHostile(dir: string): Promise<string[]> {
  const traj = await readFile(join(NATIVE, 'mini-swe-agent-1/trajs/acme__dates-9.traj.json'), 'utf8');
  const row = (await readFile(join(NATIVE, 'hf/swe-smith-style.jsonl'), 'utf8')).split('\n')[0]!;
  const files: Record<string, string | Buffer> = {
    'acme__cut-1.traj': traj.slice(0, Math.floor(traj.length / 2)), // truncated JSON
    'cut-rows.jsonl': row.slice(0, row.length - 40), // the last line stops mid-record
    'zero.traj': '',
    'zero.json': '',
    'zero.jsonl': '',
    'zero.parquet': '',
    'blank.jsonl': '\n\n   \n',
    'long-line.jsonl': `{"instance_id":"acme__long-1","messages":[{"role":"user","content":"${'x'.repeat(3 * LINE_CAP)}"}]}\n`,
    'deep-100k.json': `{"trajectory_format":"mini-swe-agent-1","instance_id":"acme__deep-1","messages":${nested(100_000)}}`,
    'acme__deep-2.traj': `{"history":${nested(100_000)}}`,
    'deep-6000.jsonl': `{"instance_id":"acme__deep-3","messages":[{"role":"user","content":${nested(6_000)}}]}\n`,
    'utf8-structure.json': Buffer.concat([Buffer.from('{"messages": ['), Buffer.from([0xff, 0xfe, 0x00, 0xc3]), Buffer.from(']}')]),
    'binary.traj': noise(64 * 1024, 1),
    'binary.json': noise(64 * 1024, 2),
    'binary.jsonl': noise(64 * 1024, 3),
    'binary.parquet': noise(64 * 1024, 4),
    'fake-magic.parquet': Buffer.concat([Buffer.from('PAR1'), noise(4096, 5), Buffer.from([0x10, 0, 0, 0]), Buffer.from('PAR1')]),
  };
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  return Object.keys(files).sort();
}

async function jsonLines<T>(path: string): Promise<T[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
}

describe('hostile inputs beside good runs (trajpipe run)', () => {
  let dir: string;
  let outs: string;
  let names: string[];
  let rejects: Reject[];
  let code: number | null;
  let stderr: string;

  beforeAll(async () => {
    dir = await tempDir('trajpipe-hostile-');
    outs = await tempDir('trajpipe-hostile-out-');
    await cp(NATIVE, join(dir, 'good'), { recursive: true });
    names = await writeHostile(join(dir, 'hostile'));
    const set = ['--set', `ingest.max_line_bytes=${LINE_CAP}`];
    const good = await runCli(['run', '--input', join(dir, 'good'), '--out', join(outs, 'out-good'), ...set]);
    expect(good.code, good.stderr).toBe(0);
    const all = await runCli(['run', '--input', dir, '--out', join(outs, 'out-all'), ...set]);
    ({ code, stderr } = all);
    rejects = await jsonLines<Reject>(join(outs, 'out-all/ingest/rejects.jsonl'));
  }, 180_000);

  it('finishes with exit 0', () => {
    expect(code, stderr).toBe(0);
    expect(stderr).not.toMatch(/internal error|RangeError|Invalid string length/);
  });

  it('rejects every hostile file with a reason and a sentence naming the file and the record', () => {
    const reasons: Record<string, string[]> = {};
    for (const r of rejects) {
      const name = relative(join(dir, 'hostile'), r.file!);
      (reasons[name] ??= []).includes(r.reason) || reasons[name]!.push(r.reason);
      expect(r.message).toContain(r.file!);
      expect(r.message.length).toBeGreaterThan(30);
    }
    expect(Object.keys(reasons).sort()).toEqual(names);
    expect(reasons).toMatchObject({
      'acme__cut-1.traj': ['truncated-file'],
      'cut-rows.jsonl': ['truncated-file'],
      'zero.traj': ['empty-file'],
      'zero.json': ['empty-file'],
      'zero.jsonl': ['empty-file'],
      'blank.jsonl': ['empty-file'],
      'zero.parquet': ['bad-parquet'],
      'long-line.jsonl': ['line-too-large'],
      'deep-100k.json': ['too-deep'],
      'acme__deep-2.traj': ['too-deep'],
      'deep-6000.jsonl': ['too-deep'],
      'utf8-structure.json': ['bad-json'],
      'binary.traj': ['bad-json'],
      'binary.json': ['bad-json'],
      'binary.parquet': ['bad-parquet'],
      'fake-magic.parquet': ['bad-parquet'],
    });
    // Random bytes split at their newlines: each piece is bad JSON (or a bare JSON scalar, not a run).
    expect(reasons['binary.jsonl']!.every((r) => r === 'bad-json' || r === 'unknown-shape')).toBe(true);
    const byFile = (n: string) => rejects.filter((r) => r.file!.endsWith(`/hostile/${n}`));
    expect(byFile('long-line.jsonl')[0]!.message).toMatch(/^Line 1 of \S+long-line\.jsonl is 3145\d{3} bytes, more than ingest\.max_line_bytes \(1048576\)/);
    expect(byFile('deep-6000.jsonl')[0]).toMatchObject({ record: 1 });
    expect(byFile('deep-100k.json')[0]!.message).toMatch(/nested more than 256 levels deep \(ingest\.max_depth\)/);
    expect(byFile('binary.traj')[0]!.message).toMatch(/invalid UTF-8 sequence\(s\), is it a binary file\?/);
  });

  it('exports exactly what the good runs alone export', async () => {
    const shards = (out: string) => hashTree(join(outs, out, 'export/data'));
    const good = await shards('out-good');
    expect(Object.keys(good).length).toBeGreaterThan(0);
    expect(await shards('out-all')).toEqual(good);
    const m = JSON.parse(await readFile(join(outs, 'out-all/ingest/manifest.json'), 'utf8')) as StageManifest;
    const g = JSON.parse(await readFile(join(outs, 'out-good/ingest/manifest.json'), 'utf8')) as StageManifest;
    expect(m.records_out).toBe(g.records_out);
    expect(m.records_in).toBe(g.records_in + rejects.length);
  });
});

describe('wrong types in every field', () => {
  it('each variant is kept or rejected with the file and line, and none stops the build', async () => {
    const dir = await tempDir('trajpipe-types-');
    const row = JSON.parse((await readFile(join(NATIVE, 'hf/swe-smith-style.jsonl'), 'utf8')).split('\n')[0]!) as Record<string, unknown>;
    const traj = JSON.parse(await readFile(join(NATIVE, 'mini-swe-agent-1/trajs/acme__dates-9.traj.json'), 'utf8')) as Record<string, unknown>;
    const wrong: unknown[] = [42, 'text', null, true, {}, [], [null], [42]];
    const lines: string[] = [];
    const msgs = row.messages as Record<string, unknown>[];
    for (const w of wrong) {
      for (const k of Object.keys(row)) lines.push(JSON.stringify({ ...row, [k]: w }));
      for (const i of [0, 2, 3]) for (const k of Object.keys(msgs[i]!)) lines.push(JSON.stringify({ ...row, messages: msgs.map((m, j) => (j === i ? { ...m, [k]: w } : m)) }));
      lines.push(JSON.stringify(w));
    }
    await writeFile(join(dir, 'rows.jsonl'), lines.join('\n') + '\n');
    await mkdir(join(dir, 'trajs'));
    let n = 0;
    for (const w of wrong) for (const k of Object.keys(traj)) await writeFile(join(dir, 'trajs', `acme__v-${n++}.traj.json`), JSON.stringify({ ...traj, [k]: w }));

    const { manifest, rejects, records } = await ingest([dir]);
    expect(manifest.records_in).toBe(lines.length + n);
    expect(manifest.records_in).toBe(records.length + rejects.length);
    expect(rejects.length).toBeGreaterThan(0);
    for (const r of rejects) {
      expect(r.message).toContain(r.file!);
      if (r.file!.endsWith('rows.jsonl')) expect(r.message, r.message).toMatch(/^Line \d+ of /);
      expect(r.record).not.toBeNull();
    }
    const kept = records as Trajectory[];
    for (const t of kept) expect(t.source.record).toBeGreaterThanOrEqual(0);
  }, 120_000);
});

describe('what was repaired and what was not read is said', () => {
  it('counts invalid UTF-8 and lone surrogates per record, in the manifest, the record and a warning', async () => {
    const dir = await tempDir('trajpipe-utf8-');
    const row = (await readFile(join(NATIVE, 'hf/swe-smith-style.jsonl'), 'utf8')).split('\n')[0]!;
    const i = row.indexOf('drops the last item');
    const bad = Buffer.concat([Buffer.from(row.slice(0, i)), Buffer.from([0xff, 0xfe]), Buffer.from(row.slice(i).replace('every page', 'every \\ud83d page'))]);
    await writeFile(join(dir, 'rows.jsonl'), Buffer.concat([Buffer.from('\n'), bad, Buffer.from('\n')]));
    const out = join(await tempDir('trajpipe-utf8-out-'), 'out');
    const r = await runCli(['run', '--input', dir, '--out', out, '--only', 'ingest', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: ingest repaired text in 1 record(s): 2 invalid UTF-8 sequence(s) and 1 lone UTF-16 surrogate(s) replaced by U+FFFD (Line 2 of');
    const m = JSON.parse(await readFile(join(out, 'ingest/manifest.json'), 'utf8')) as StageManifest;
    expect(m.stats.text_repairs).toEqual({
      records: 1,
      invalid_utf8: 2,
      lone_surrogates: 1,
      listed: [{ file: join(dir, 'rows.jsonl'), record: 2, at: `Line 2 of ${join(dir, 'rows.jsonl')}`, invalid_utf8: 2, lone_surrogates: 1 }],
    });
    const [part] = await readdir(join(out, 'ingest')).then((f) => f.filter((x) => x.startsWith('part-')));
    const rec = JSON.parse((await readFile(join(out, 'ingest', part!), 'utf8')).trim()) as Trajectory;
    expect(rec.meta.text_repairs).toEqual({ invalid_utf8: 2, lone_surrogates: 1 });
    expect(rec.messages[1]!.content).toContain('\ufffd\ufffddrops the last item of every \ufffd page');
  });

  it('fails with one sentence when no input is a trajectory, and warns when some are not', async () => {
    const dir = await tempDir('trajpipe-none-');
    await writeFile(join(dir, 'config.yaml'), 'name: x\n');
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ name: 'settings', verbose: true }));
    await writeFile(join(dir, 'notes.md'), '# notes\n');
    const r = await runCli(['run', '--input', dir, '--out', join(dir, 'out')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trajpipe: No trajectory was read from the 3 input file\(s\)\. 3 of them are not trajectories: \S+config\.yaml \(yaml-file\), \S+notes\.md \(text-file\), \S+settings\.json \(not-a-trajectory\)\. Point --input/m);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parquetWriteFile } from 'hyparquet-writer';
import { runCli, tempDir } from '../helpers/cli.js';

/** One sentence on stderr, no stack trace. */
function expectOneSentence(stderr: string): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^trajpipe: [A-Z].*\.$/);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('CLI failures', () => {
  it('a broken config gives one clear sentence naming the file and key, and exit 1', async () => {
    const dir = await tempDir();
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'name: broken\ninputs: [data/sample]\nexport:\n  zstd_level: 99\n');
    const r = await runCli(['run', file, '--out', join(dir, 'out')]);
    expect(r.code).toBe(1);
    expectOneSentence(r.stderr);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('export.zstd_level');
  });

  it('a non-existent input gives one clear sentence and exit 1', async () => {
    const dir = await tempDir();
    const r = await runCli(['run', 'pipelines/sample.yaml', '--input', 'no/such/folder', '--out', join(dir, 'out')]);
    expect(r.code).toBe(1);
    expectOneSentence(r.stderr);
    expect(r.stderr).toContain('no/such/folder');
  });

  it('a bad --set gives one sentence naming the key', async () => {
    const dir = await tempDir();
    const r = await runCli(['run', 'pipelines/sample.yaml', '--set', 'export.shard.max_rows=lots', '--out', join(dir, 'out')]);
    expect(r.code).toBe(1);
    expectOneSentence(r.stderr);
    expect(r.stderr).toContain('export.shard.max_rows');
  });

  it('usage errors exit 2 with a pointer to --help', async () => {
    const r = await runCli(['run', '--only', 'nonsense']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--help/);
  });

  it('stages lists the stages in order', async () => {
    const r = await runCli(['stages']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0])).toEqual(['ingest', 'filter', 'dedup', 'label', 'segment', 'export', 'tokenize', 'formats', 'pool']);
  });

  it('every command has help', async () => {
    for (const args of [['--help'], ['run', '--help'], ['validate', '--help'], ['stages', '--help']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/trajpipe/);
    }
  });
});

describe('validate on a bad export', () => {
  let good: string;
  beforeAll(async () => {
    good = await tempDir();
    const r = await runCli(['run', 'pipelines/sample.yaml', '--out', good, '--quiet']);
    expect(r.code).toBe(0);
  });

  async function copyExport(): Promise<{ dir: string; manifest: { outputs: { path: string; sha256: string; records: number; bytes: number }[] } }> {
    const dir = join(await tempDir(), 'export');
    await mkdir(join(dir, 'data'), { recursive: true });
    const manifest = JSON.parse(await readFile(join(good, 'export', 'manifest.json'), 'utf8'));
    for (const o of manifest.outputs) await copyFile(join(good, 'export', o.path), join(dir, o.path));
    return { dir, manifest };
  }

  it('fails, naming the shard, when a shard has the wrong schema (even with a matching hash)', async () => {
    const { dir, manifest } = await copyExport();
    const target = manifest.outputs[0]!;
    const path = join(dir, target.path);
    // Same columns, but messages as a JSON string: what a writer without an explicit schema produces.
    parquetWriteFile({
      filename: path,
      columnData: [
        { name: 'id', data: ['x'], type: 'STRING' },
        { name: 'messages', data: ['[]'], type: 'STRING' },
      ],
    });
    const bytes = await readFile(path);
    target.sha256 = createHash('sha256').update(bytes).digest('hex');
    target.records = 1;
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const r = await runCli(['validate', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${target.path}: Parquet schema differs`);
  });

  it('fails when a shard no longer matches the manifest hash', async () => {
    const { dir, manifest } = await copyExport();
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, outputs: manifest.outputs.map((o) => ({ ...o, sha256: '0'.repeat(64) })) }));
    const r = await runCli(['validate', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/sha256 .* does not match the manifest/);
  });

  it('passes on the good export', async () => {
    const r = await runCli(['validate', join(good, 'export')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\d+ row\(s\)/);
  });
});

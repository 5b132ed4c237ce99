import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir, ROOT } from '../helpers/cli.js';

describe('outcome files found beside the runs', () => {
  it('are part of the ingest fingerprint: changing one reruns ingest', async () => {
    const dir = await tempDir();
    await cp(join(ROOT, 'data/sample/native/mini-swe-agent-1'), join(dir, 'mini'), { recursive: true });
    const out = join(dir, 'out');
    // Only the trajectories are inputs; the report sits in ../logs and is found by find_labels.
    const args = ['run', '--input', join(dir, 'mini', 'trajs'), '--out', out, '--only', 'ingest'];
    expect((await runCli(args)).code).toBe(0);
    const again = await runCli(args);
    expect(again.stderr).toMatch(/^ingest +up to date, skipped/m);

    const report = join(dir, 'mini', 'logs', 'acme__slugify-4.report.json');
    await writeFile(report, (await readFile(report, 'utf8')) + '\n');
    const changed = await runCli(args);
    expect(changed.code).toBe(0);
    expect(changed.stderr).toMatch(/^ingest +\d+ in -> /m);
  });

  it('leave out unrelated .json files there: only the outcome files actually joined are fingerprinted', async () => {
    const dir = await tempDir();
    await cp(join(ROOT, 'data/sample/native/mini-swe-agent-1'), join(dir, 'mini'), { recursive: true });
    const out = join(dir, 'out');
    const args = ['run', '--input', join(dir, 'mini', 'trajs'), '--out', out, '--only', 'ingest'];
    // logs/ and results/ two folders above the runs also hold files that are not outcome files.
    const stray = join(dir, 'mini', 'logs', 'run-config.json');
    await writeFile(stray, JSON.stringify({ model: 'x', temperature: 0 }));
    await mkdir(join(dir, 'results'), { recursive: true });
    await writeFile(join(dir, 'results', 'notes.json'), '{"seen": 1}');
    expect((await runCli(args)).code).toBe(0);

    await writeFile(stray, JSON.stringify({ model: 'y', temperature: 1, longer: true }));
    await writeFile(join(dir, 'results', 'notes.json'), '{"seen": 2, "more": true}');
    await writeFile(join(dir, 'mini', 'logs', 'new-unrelated.json'), '[1, 2, 3]');
    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^ingest +up to date, skipped/m);
  });
});


import { cp, readFile, writeFile } from 'node:fs/promises';
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
});

import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StageManifest } from '../../schemas/index.js';
import { runCli, tempDir } from '../helpers/cli.js';

// `trajpipe run --input <folder of mixed harness files> --out X`: formats are detected per file and
// record, and the ingest manifest says how many runs came from each harness, with which outcome, and
// why the others were rejected. Only the ingest stage runs, to keep the test about ingest and fast.

describe('trajpipe run --input <mixed folder>', () => {
  it('ingests every harness format with auto-detection and reports counts per harness, outcome and reject reason', async () => {
    const input = await tempDir('trajpipe-mixed-');
    const out = await tempDir('trajpipe-mixed-out-');
    await cp('data/sample/native', input, { recursive: true });
    await writeFile(join(input, 'bad-lines.jsonl'), '{"instance_id": "acme__z-1", "messages": [\n{"no": "chat"}\n');
    const traj = await readFile('data/sample/native/swe-agent-0.x/trajs/acme__pager-12.traj', 'utf8');
    await writeFile(join(input, 'acme__half-1.traj'), traj.slice(0, 500));
    await writeFile(join(input, 'args.yaml'), 'agent: {model: x}\n');

    const res = await runCli(['run', '--input', input, '--out', out, '--only', 'ingest', '--quiet']);
    // --quiet keeps warnings: a file that is not a trajectory is said on the console (the run's
    // metadata.yaml is used for the model name, so it is not one of them).
    expect(res.stderr).toMatch(/^warning: ingest skipped 1 input file\(s\) that are not trajectories: \S+args\.yaml \(yaml-file\) \(listed in ingest\/manifest\.json stats\.skipped_files\)\.\n$/);
    expect(res.code).toBe(0);

    const manifest = JSON.parse(await readFile(join(out, 'ingest/manifest.json'), 'utf8')) as StageManifest;
    expect(manifest.records_in).toBe(20);
    expect(manifest.records_out).toBe(17);
    expect(manifest.stats.per_harness).toEqual({ 'swe-agent': 10, 'mini-swe-agent': 3, openhands: 4 });
    expect(manifest.stats.per_outcome).toEqual({ resolved: 8, failed: 6, unlabelled: 3 });
    expect(manifest.dropped).toEqual({ 'bad-json': 1, 'truncated-file': 1, 'unknown-shape': 1 });
    const rejects = (await readFile(join(out, 'ingest/rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { reason: string; file: string; record: number });
    expect(rejects.map((r) => [r.reason, r.file.slice(input.length + 1), r.record])).toEqual([
      ['truncated-file', 'acme__half-1.traj', 0],
      ['bad-json', 'bad-lines.jsonl', 1],
      ['unknown-shape', 'bad-lines.jsonl', 2],
    ]);
  }, 60_000);
});

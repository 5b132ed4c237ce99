import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../src/runner/runner.js';
import { runCli, startCli, tempDir } from '../helpers/cli.js';

/** One sentence on stderr (after any log lines), no stack trace. */
function lastSentence(stderr: string): string {
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toMatch(/internal error/);
  const lines = stderr.trim().split('\n');
  return lines[lines.length - 1]!;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

describe('CLI rough edges', () => {
  it('--from with --only is a usage error: exit 2 and a pointer to --help', async () => {
    const r = await runCli(['run', 'pipelines/sample.yaml', '--from', 'label', '--only', 'export']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/from and only are mutually exclusive/);
    expect(r.stderr).toMatch(/--help/);
  });

  it('--dry-run says what it showed and that nothing was sent or written from label on, and exits 0', async () => {
    const out = await tempDir();
    const r = await runCli(['run', 'pipelines/sample.yaml', '--out', out, '--dry-run']);
    expect(r.code).toBe(0);
    const line = lastSentence(r.stderr);
    expect(line).toMatch(/^trajpipe: dry run of label: \d+ failed run\(s\) would be labelled by the heuristic labeler/);
    expect(line).toMatch(/nothing was sent to the teacher and nothing of label or the stages after it was written; the stages before it \(ingest, filter, dedup\) are complete as usual\. Run it again without --dry-run to go ahead\.$/);
    expect(line).not.toMatch(/stopped at/);
    expect((await readdir(out)).sort()).toEqual(['dedup', 'filter', 'ingest']);
  });

  it('Ctrl-C (SIGINT) prints what is complete and that the same command resumes, exits 130, and leaves no lock', async () => {
    const out = await tempDir();
    const { child, done } = startCli(['run', 'pipelines/sample.yaml', '--out', out]);
    const caught = await waitFor(async () => (await readdir(out)).some((e) => e.includes('.partial-')), 90_000);
    expect(caught, 'the run ended before a stage could be interrupted').toBe(true);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    const line = lastSentence(r.stderr);
    const stage = '(ingest|filter|dedup|label|segment|export)';
    expect(line).toMatch(
      new RegExp(`^trajpipe: interrupted (during ${stage} \\(its partial output is deleted\\)|while checking whether ${stage} is up to date); .* in .*; rerun the same command to resume\\.$`),
    );
    const left = await readdir(out);
    expect(left.filter((e) => e.startsWith('.'))).toEqual([]);
    for (const stage of left) expect(await readManifest(join(out, stage)), `${stage} is listed as complete`).not.toBeNull();
  });

  it('a missing input of a pipeline file names the resolved path and says it is relative to the file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'p.yaml');
    await writeFile(file, 'name: t\ninputs: runs\n');
    const r = await runCli(['run', file, '--out', join(dir, 'out')]);
    expect(r.code).toBe(1);
    expect(lastSentence(r.stderr)).toBe(`trajpipe: Input "${join(dir, 'runs')}" does not exist (relative inputs in ${file} are resolved against its folder, ${dir}).`);
  });

  it('validate on a folder that does not exist reports only that, exit 1', async () => {
    const r = await runCli(['validate', '/nonexistent/trajpipe-export']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('trajpipe: /nonexistent/trajpipe-export does not exist.');
  });

  it('an output folder that cannot be created is one sentence naming the path and the cause, exit 1', async () => {
    const r = await runCli(['run', 'pipelines/sample.yaml', '--out', '/dev/null/out']);
    expect(r.code).toBe(1);
    expect(lastSentence(r.stderr)).toBe('trajpipe: Cannot write /dev/null/out: a part of the path is not a folder (ENOTDIR).');
  });

  it('--out inside an --input folder: the outputs of the previous run are not read again', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in'));
    await copyFile('data/sample/canonical/runs.jsonl', join(dir, 'in', 'runs.jsonl'));
    const args = ['run', '--input', join(dir, 'in'), '--out', join(dir, 'in', 'out')];
    expect((await runCli([...args, '--only', 'ingest'])).code).toBe(0);
    const first = (await readManifest(join(dir, 'in', 'out', 'ingest')))!;
    const again = await runCli([...args, '--only', 'ingest']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/warning: skipped \d+ file\(s\) under the output folder .*in\/out, which lies inside an input/);
    expect(again.stderr).toMatch(/ingest +up to date, skipped/);
    expect((await readManifest(join(dir, 'in', 'out', 'ingest')))!.records_in).toBe(first.records_in);
  });
});

describe('a full disk (a 300 KB tmpfs as the output folder)', () => {
  it('is one sentence naming the path and the cause, exit 1, and leaves nothing a rerun trusts', async (t) => {
    const mnt = await tempDir();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=300k', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (err) {
      console.warn(`SKIPPED: cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}); the injected ENOSPC test still runs.`);
      t.skip();
      return;
    }
    try {
      const out = join(mnt, 'out');
      const r = await runCli(['run', 'pipelines/sample.yaml', '--out', out]);
      expect(r.code).toBe(1);
      const line = lastSentence(r.stderr);
      expect(line).toMatch(
        new RegExp(`^trajpipe: The (ingest|filter|dedup|label|segment|export|tokenize|formats|pool) stage stopped and kept no output: cannot write ${out}/\\S+: no space left on the device \\(ENOSPC\\); free some space \\(or use another --out\\) and rerun the same command to resume at this stage\\.$`),
      );
      const left = await readdir(out);
      expect(left.filter((e) => e.startsWith('.'))).toEqual([]); // no partial folder, temporary file or lock
      const failed = /The (\w+) stage/.exec(line)![1]!;
      expect(left).not.toContain(failed);
      for (const stage of left) expect(await readManifest(join(out, stage)), `${stage} is complete`).not.toBeNull();
    } finally {
      execFileSync('umount', [mnt]);
      await rm(mnt, { recursive: true, force: true });
    }
  });
});

import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GRACE_MS, KEEP, bundle, prune, sourceStamp } from '../../bin/bundle.mjs';
import { createPool, workerEntry } from '../../src/workers/pool.js';
import { hashTree, isManifest, ROOT, runCli, tempDir } from '../helpers/cli.js';

/**
 * Start-up (docs/design.md): bin/trajpipe.js runs a bundle of the sources built by bin/bundle.mjs, or tsx.
 * Bundle folders made here live under node_modules/.cache (the bundle imports its packages by name, so it
 * must sit where the checkout's node_modules resolve) and are removed at the end.
 */
const made: string[] = [];
function bundleDirForTest(): string {
  const dir = join(ROOT, 'node_modules', '.cache', `trajpipe-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  made.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const DEBUG = { TRAJPIPE_BUNDLE_DEBUG: '1' };

describe('start-up bundle', () => {
  it('gives the same output as tsx: stages, and an ingest run in two worker threads', async () => {
    const dir = bundleDirForTest();
    const bundled = { ...DEBUG, TRAJPIPE_BUNDLE_DIR: dir };
    const viaTsx = { ...DEBUG, TRAJPIPE_NO_BUNDLE: '1' };
    const [a, b] = [await runCli(['stages'], bundled), await runCli(['stages'], viaTsx)];
    expect(a.code).toBe(0);
    expect(a.stderr).toMatch(/^trajpipe: start-up: bundle .*\(built in \d+ ms\)\n$/);
    expect(b.stderr).toBe('trajpipe: start-up: tsx (TRAJPIPE_NO_BUNDLE)\n');
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toMatch(/^ingest /);

    const outs = [await tempDir(), await tempDir()];
    const args = (out: string) => ['run', 'pipelines/sample.yaml', '--out', out, '--only', 'ingest', '--set', 'runner.workers=2', '--quiet'];
    const [c, d] = [await runCli(args(outs[0]!), bundled), await runCli(args(outs[1]!), viaTsx)];
    expect(c.stderr).toMatch(/^trajpipe: start-up: bundle [^\n]*\n$/); // built by the first start above
    expect(c.stderr).not.toMatch(/built in/);
    expect([c.code, d.code]).toEqual([0, 0]);
    expect(await hashTree(outs[0]!, isManifest)).toEqual(await hashTree(outs[1]!, isManifest));
  });

  it('builds once for processes starting at once on an empty bundle folder', async () => {
    const dir = bundleDirForTest();
    const runs = await Promise.all([1, 2, 3, 4].map(() => runCli(['stages'], { ...DEBUG, TRAJPIPE_BUNDLE_DIR: dir })));
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^trajpipe: start-up: bundle /);
      expect(r.stdout).toBe(runs[0]!.stdout);
    }
    // Each may have built (the first rename wins); one folder stays, no temporary one.
    expect(readdirSync(dir)).toEqual([sourceStamp()]);
    expect(readdirSync(join(dir, sourceStamp())).sort()).toEqual(['cli.mjs', 'cli.mjs.map', 'worker.mjs', 'worker.mjs.map']);
  });

  it('falls back to tsx, silently, when the bundle cannot be built', async () => {
    const file = join(await tempDir(), 'a-file');
    writeFileSync(file, '');
    const env = { TRAJPIPE_BUNDLE_DIR: join(file, 'bundles') }; // under a file: mkdir fails
    const [quiet, said, ref] = await Promise.all([runCli(['stages'], env), runCli(['stages'], { ...env, ...DEBUG }), runCli(['stages'], { TRAJPIPE_NO_BUNDLE: '1' })]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toBe(ref.stdout);
    expect(said.stderr).toMatch(/^trajpipe: start-up: tsx \(the bundle could not be built: [^\n]*\)\n$/);
  });
});

describe('source stamp', () => {
  it('changes with any file of the sources: content, mtime, a new file; not otherwise', async () => {
    const root = await tempDir();
    for (const p of ['src', 'schemas', 'bin', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, p), join(root, p), { recursive: true });
    const first = sourceStamp(root);
    expect(first).toMatch(/^[0-9a-f]{20}$/);
    expect(sourceStamp(root)).toBe(first);
    // The checkout's path is part of it: the bundle has it built in.
    expect(first).not.toBe(sourceStamp(ROOT));

    const seen = new Set([first]);
    const changed = (what: string) => {
      const s = sourceStamp(root);
      expect(seen.has(s), what).toBe(false);
      seen.add(s);
    };
    const file = join(root, 'src', 'core', 'errors.ts');
    writeFileSync(file, '// edited\n', { flag: 'a' });
    changed('appended to a source file');
    const t = new Date(Date.now() - 3_600_000);
    utimesSync(file, t, t);
    changed('mtime only');
    const before = sourceStamp(root);
    writeFileSync(join(root, 'schemas', 'new.ts'), 'export {};\n');
    changed('a new file');
    rmSync(join(root, 'schemas', 'new.ts'));
    expect(sourceStamp(root), 'the same files as before').toBe(before);
    writeFileSync(join(root, 'package.json'), '{"name":"trajpipe"}\n');
    changed('package.json');
    // Outside src/, schemas/, bin/: not part of what is bundled.
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data', 'x.txt'), 'x');
    expect(seen.has(sourceStamp(root))).toBe(true);
  });
});

describe('bundle folder', () => {
  it('keeps the current stamp, the KEEP most recently used others, any used within GRACE_MS; removes old leftovers', () => {
    const dir = join(bundleDirForTest(), 'prune');
    const now = Date.now();
    let n = 0;
    const make = (name: string, ageMs: number) => {
      mkdirSync(join(dir, name), { recursive: true });
      const t = new Date(now - ageMs);
      utimesSync(join(dir, name), t, t);
      return name;
    };
    const stamp = () => (n++).toString(16).padStart(20, '0');
    const hour = GRACE_MS;
    const current = make('c'.repeat(20), 10 * hour); // in use by this process, however old
    const recent = Array.from({ length: KEEP + 2 }, (_, i) => make(stamp(), i * 1000)); // more than KEEP, all recent
    const old = Array.from({ length: 3 }, (_, i) => make(stamp(), hour + (i + 1) * 60_000));
    const tmpOld = make('.tmp-abandoned', 2 * hour);
    const tmpNew = make('.tmp-building', 0);
    const other = make('unrelated', 10 * hour);
    prune(dir, current, now);
    expect(readdirSync(dir).sort()).toEqual([current, ...recent, tmpNew, other].sort());
    expect(existsSync(join(dir, tmpOld))).toBe(false);
    expect(old.some((o) => existsSync(join(dir, o)))).toBe(false);

    // Old stamps among the KEEP most recently used stay.
    const dir2 = join(bundleDirForTest(), 'prune2');
    const few = Array.from({ length: KEEP + 1 }, (_, i) => {
      const name = stamp();
      mkdirSync(join(dir2, name), { recursive: true });
      const t = new Date(now - 2 * hour - i * 60_000);
      utimesSync(join(dir2, name), t, t);
      return name;
    });
    prune(dir2, 'c'.repeat(20), now);
    expect(readdirSync(dir2).sort()).toEqual(few.slice(0, KEEP).sort());
  });
});

describe('bundled worker entry', () => {
  const global = globalThis as { __trajpipeWorkerEntry?: string };
  afterEach(() => {
    delete global.__trajpipeWorkerEntry;
  });

  it('runs tasks in worker threads as the sources do inline', async () => {
    const built = await bundle({ dir: bundleDirForTest() });
    expect(existsSync(new URL(built.worker))).toBe(true);
    expect(workerEntry()).toMatch(/\/src\/workers\/entry\.mjs$/);
    global.__trajpipeWorkerEntry = built.worker;
    expect(workerEntry()).toBe(built.worker);
    const inline = createPool(0);
    const pool = createPool(2);
    try {
      const input = { numPerm: 64, seed: 1, shingleSize: 3, statements: ['Fix the parser when a line ends in a backslash', 'Add a --dry-run flag to the CLI', ''] };
      const inThreads = await Promise.all([pool.run('dedup.signatures', input), pool.run('dedup.signatures', input)]);
      expect(inThreads[0]).toEqual(await inline.run('dedup.signatures', input));
      expect(inThreads[1]).toEqual(inThreads[0]);
    } finally {
      await pool.close();
    }
    // A bundle folder removed since start-up (pruned by another process): the sources, through tsx.
    global.__trajpipeWorkerEntry = built.worker.replace('worker.mjs', 'gone.mjs');
    expect(workerEntry()).toMatch(/\/src\/workers\/entry\.mjs$/);
  });
});

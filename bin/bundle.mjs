// The start-up bundle (docs/design.md, "Start-up"). Plain JS, so bin/trajpipe.js loads it without a loader.
//
// A stamp of the sources (paths, sizes, mtimes and ctimes of every file under src/, schemas/ and bin/,
// plus package.json, tsconfig.json and esbuild's package.json) names a folder <bundle dir>/<stamp>/ holding
// cli.mjs (src/cli/main.ts) and worker.mjs (src/workers/tasks.ts's runWorkerTask as the default export), built
// by esbuild with every package left external. A changed source gives a new stamp and a new build, so the
// bundle is never stale. Builds go to a temporary folder renamed into place: processes starting at once
// may each build, the first rename wins and the others use its folder.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The checkout this file belongs to (no trailing separator). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/[\\/]$/, '');

const TREES = ['src', 'schemas', 'bin'];
const FILES = ['package.json', 'tsconfig.json', 'node_modules/esbuild/package.json'];
/** Stamp folders kept besides the current one (the most recently used), and how old a folder must be to go. */
export const KEEP = 4;
export const GRACE_MS = 60 * 60 * 1000;
const STAMP = /^[0-9a-f]{20}$/;
const WORKER_ENTRY = 'trajpipe:worker-entry';

/** node_modules/.cache/trajpipe/ of the checkout (git-ignored with node_modules), or TRAJPIPE_BUNDLE_DIR. */
export function bundleDir(root = ROOT) {
  return process.env.TRAJPIPE_BUNDLE_DIR || join(root, 'node_modules', '.cache', 'trajpipe');
}

/**
 * What the bundle would be built from, as 20 hex digits: the root's path (the bundle has it built in), then
 * every file's relative path, size, mtime and ctime. Stat calls only, no reading: a few ms for ~250 files.
 */
export function sourceStamp(root = ROOT) {
  const parts = [`trajpipe-bundle 1\0${root}`];
  const file = (rel) => {
    const s = statSync(join(root, rel), { throwIfNoEntry: false });
    parts.push(s ? `${rel}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}` : `${rel}\0-`);
  };
  const tree = (rel) => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      parts.push(`${rel}/\0-`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) (e.isDirectory() ? tree : file)(`${rel}/${e.name}`);
  };
  for (const rel of TREES) tree(rel);
  for (const rel of FILES) file(rel);
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 20);
}

/** Builds cli.mjs and worker.mjs into `out` (a new folder). */
export async function buildBundle(root, out) {
  const esbuild = await import('esbuild');
  try {
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: [
        { in: 'src/cli/main.ts', out: 'cli' },
        { in: WORKER_ENTRY, out: 'worker' },
      ],
      outdir: out,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      // src/core/paths.ts: the bundle lives under node_modules/.cache, which may be a symlink into another
      // checkout, so the root is built in rather than found from import.meta.url.
      define: { __TRAJPIPE_ROOT__: JSON.stringify(root) },
      keepNames: true,
      sourcemap: 'linked',
      sourcesContent: false,
      logLevel: 'silent',
      plugins: [
        {
          name: 'trajpipe-worker-entry',
          setup(b) {
            b.onResolve({ filter: /^trajpipe:worker-entry$/ }, (a) => ({ path: a.path, namespace: 'trajpipe' }));
            b.onLoad({ filter: /.*/, namespace: 'trajpipe' }, () => ({
              contents: "export { runWorkerTask as default } from './src/workers/tasks.ts';\n",
              resolveDir: root,
              loader: 'ts',
            }));
          },
        },
      ],
    });
  } finally {
    await esbuild.stop();
  }
  // Source maps name the .ts files by absolute URL, so stack traces point into this checkout wherever the
  // bundle folder really is.
  for (const name of ['cli.mjs.map', 'worker.mjs.map']) {
    const file = join(out, name);
    const map = JSON.parse(readFileSync(file, 'utf8'));
    map.sources = map.sources.map((s) => (s.startsWith('trajpipe:') ? s : pathToFileURL(resolve(out, s)).href));
    writeFileSync(file, JSON.stringify(map));
  }
}

/** Deletes stamp folders beyond the KEEP most recently used and abandoned temporary folders, all older than GRACE_MS. */
export function prune(dir, current, now = Date.now()) {
  const old = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name === current) continue;
    if (!STAMP.test(e.name) && !e.name.startsWith('.tmp-')) continue;
    try {
      old.push({ name: e.name, tmp: !STAMP.test(e.name), t: statSync(join(dir, e.name)).mtimeMs });
    } catch {
      // removed meanwhile by another process
    }
  }
  const stamps = old.filter((o) => !o.tmp).sort((a, b) => b.t - a.t);
  for (const o of [...stamps.slice(KEEP), ...old.filter((x) => x.tmp)]) {
    if (now - o.t > GRACE_MS) rmSync(join(dir, o.name), { recursive: true, force: true });
  }
}

/**
 * The bundle for the sources as they are now: { cli, worker, built } (file URLs; `built` the build's
 * milliseconds, or null when it was there already), built first if need be. Throws when it cannot be built.
 */
export async function bundle({ root = ROOT, dir = bundleDir(root) } = {}) {
  const stamp = sourceStamp(root);
  const target = join(dir, stamp);
  const urls = (built) => ({ cli: pathToFileURL(join(target, 'cli.mjs')).href, worker: pathToFileURL(join(target, 'worker.mjs')).href, dir: target, built });
  if (existsSync(join(target, 'cli.mjs'))) {
    try {
      const now = new Date();
      utimesSync(target, now, now); // "recently used", for prune()
    } catch {
      // a read-only checkout still runs
    }
    return urls(null);
  }
  const started = performance.now();
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${stamp}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await buildBundle(root, tmp);
    // A source saved during the build may or may not be in it: file it under neither stamp (tsx this time).
    if (sourceStamp(root) !== stamp) throw new Error('the sources changed during the build');
    try {
      renameSync(tmp, target);
    } catch (err) {
      // Another process renamed its build into place first: the same sources, so the same bundle.
      if (!existsSync(join(target, 'cli.mjs'))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  try {
    prune(dir, stamp);
  } catch {
    // pruning is housekeeping; another process may be doing it too
  }
  return urls(Math.round(performance.now() - started));
}

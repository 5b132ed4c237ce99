import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set by the start-up bundle's build (bin/bundle.mjs): the checkout it was built from. */
declare const __TRAJPIPE_ROOT__: string | undefined;

let root: string | null = null;

/**
 * The checkout's root folder (the one holding the package.json named trajpipe), for files read at run time
 * (package.json, data/benchmarks/, src/report/page/, the worker entry). From the sources (tsx, vitest) it is
 * found by walking up from this file. The start-up bundle has it built in: the bundle lives under
 * node_modules/.cache/, and node_modules may be a symlink into another checkout (Node resolves symlinks
 * in module URLs), so walking up from there could find the wrong one.
 */
export function projectRoot(): string {
  if (root !== null) return root;
  if (typeof __TRAJPIPE_ROOT__ === 'string') return (root = __TRAJPIPE_ROOT__);
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; ) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'trajpipe') return (root = dir);
    } catch {
      // no package.json here, or not JSON: keep walking up
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json named trajpipe in ${start} or above`);
    dir = up;
  }
}

/** A path inside the checkout: projectPath('data', 'benchmarks'). */
export function projectPath(...parts: string[]): string {
  return join(projectRoot(), ...parts);
}

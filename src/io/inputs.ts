import { stat, readdir } from 'node:fs/promises';
import { join, relative, isAbsolute, resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { UserError } from '../core/errors.js';

/** Path as recorded in outputs: relative to the working directory when inside it, so outputs do not depend on where the clone lives. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const abs = resolve(cwd, path);
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // hidden files and our own temporary files
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

export interface ResolveOptions {
  /**
   * Folders whose files are never inputs (the run's output folder: with --out inside an input folder,
   * each run would otherwise read the previous run's outputs). Absolute, or relative to cwd.
   */
  exclude?: readonly string[];
  /** Told how many files under an excluded folder were left out. */
  onExcluded?: (folder: string, files: number) => void;
}

const isInside = (file: string, folder: string) => {
  const rel = relative(folder, file);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** Expands files, folders (recursively) and globs into a sorted, de-duplicated list of files. */
export async function resolveInputs(patterns: readonly string[], cwd = process.cwd(), opts: ResolveOptions = {}): Promise<string[]> {
  const found = await expandInputs(patterns, cwd);
  const exclude = (opts.exclude ?? []).map((d) => resolve(cwd, d));
  if (exclude.length === 0) return found;
  const kept: string[] = [];
  const left = new Map<string, number>();
  for (const f of found) {
    const folder = exclude.find((d) => isInside(resolve(cwd, f), d));
    if (folder === undefined) kept.push(f);
    else left.set(folder, (left.get(folder) ?? 0) + 1);
  }
  for (const [folder, n] of left) opts.onExcluded?.(folder, n);
  return kept;
}

async function expandInputs(patterns: readonly string[], cwd: string): Promise<string[]> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    if (isDynamicPattern(pattern)) {
      const matches = await glob(pattern, { cwd, absolute: true, onlyFiles: true, dot: false });
      if (matches.length === 0) throw new UserError(`Input pattern "${pattern}" matches no file.`);
      for (const m of matches) files.add(displayPath(m, cwd));
      continue;
    }
    const abs = resolve(cwd, pattern);
    const st = await stat(abs).catch(() => null);
    if (!st) throw new UserError(`Input "${pattern}" does not exist.`);
    if (st.isDirectory()) {
      const found: string[] = [];
      await walk(abs, found);
      for (const f of found) files.add(displayPath(f, cwd));
    } else {
      files.add(displayPath(abs, cwd));
    }
  }
  return [...files].sort();
}

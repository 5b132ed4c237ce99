import { mkdir, readdir, rename, rm, writeFile, open } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { currentHolder, holderState, pidExists } from '../core/holder.js';

let counter = 0;
/**
 * A temporary name beside the target (same folder, so the final rename is atomic). It names its writer
 * by pid and process start time, so a later run can tell a dead writer's leftover from a live one's.
 */
export function tempPathFor(target: string): string {
  const me = currentHolder();
  return join(dirname(target), `.${basename(target)}.tmp-${me.pid}-${me.start_time ?? 'x'}-${counter++}`);
}

const TEMP_NAME = /\.tmp-(\d+)-(\d+|x)-\d+$/;
const LEGACY_TEMP_NAME = /\.tmp-(\d+)-\d+$/;

/** True when name is a temporary file of a writer that is gone (on this host). */
export function isDeadTemp(name: string): boolean {
  if (!name.startsWith('.')) return false;
  const m = TEMP_NAME.exec(name);
  if (m) return holderState({ pid: Number(m[1]), start_time: m[2] === 'x' ? null : m[2]!, host: currentHolder().host }) === 'dead';
  const legacy = LEGACY_TEMP_NAME.exec(name);
  return legacy ? !pidExists(Number(legacy[1])) : false;
}

/**
 * Deletes the temporary files that dead writers left in dir and its subfolders down to depth (a cache
 * spreads its entries over subfolders). Live writers' files are left alone: a cache is shared by runs.
 * Returns how many were removed.
 */
export async function removeDeadTemps(dir: string, depth = 1): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
  if (!entries) return 0;
  let removed = 0;
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isFile() && isDeadTemp(e.name)) {
      await rm(p, { force: true });
      removed++;
    } else if (e.isDirectory() && depth > 0) removed += await removeDeadTemps(p, depth - 1);
  }
  return removed;
}

/** Write a whole file atomically: data goes to a temporary name, is fsynced, then renamed. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}

export { writeFile };

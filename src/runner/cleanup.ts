import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { STAGE_ORDER } from '../../schemas/index.js';
import { pidExists } from '../core/holder.js';
import { isDeadTemp, removeDeadTemps } from '../io/atomic.js';

const STAGE_LEFTOVER = new RegExp(`^\\.(${STAGE_ORDER.join('|')})\\.(partial|old)-`);
const LOCK_LEFTOVER = /^\.lock\.(?:tmp|stale)-(\d+)-/;

/**
 * Deletes what killed runs left in an output folder: `.STAGE.partial-*` and `.STAGE.old-*` folders
 * (never trusted; the caller holds the folder's lock, so no live run owns them), temporary files of dead
 * writers, and lock attempts of dead processes. Runs before any stage, whether or not it is up to date.
 */
export async function removeRunLeftovers(outDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(outDir).catch(() => [] as string[])) {
    const lock = LOCK_LEFTOVER.exec(name);
    const stale =
      STAGE_LEFTOVER.test(name) ||
      (lock !== null && !pidExists(Number(lock[1]))) ||
      isDeadTemp(name);
    if (!stale) continue;
    await rm(join(outDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed.sort();
}

/** Temporary files of dead writers in a stage's cache folders (entries spread over one level of subfolders). */
export async function removeCacheLeftovers(dirs: readonly string[]): Promise<number> {
  let n = 0;
  for (const d of dirs) n += await removeDeadTemps(d, 1);
  return n;
}

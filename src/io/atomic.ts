import { createHash } from 'node:crypto';
import * as fsCb from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, basename, join } from 'node:path';
import { currentHolder, holderState, pidExists } from '../core/holder.js';

/** 8 hex digits naming a host: a temporary file in a folder shared by a cluster says which node wrote it. */
export function hostTag(host: string): string {
  return createHash('sha256').update(host).digest('hex').slice(0, 8);
}

let counter = 0;
/**
 * A temporary name beside the target (same folder, so the final rename is atomic). It names its writer
 * by pid, process start time and host, so a later run can tell a dead writer's leftover from a live one's,
 * and a run on another node of a cluster sharing the folder never mistakes this node's pid for its own.
 */
export function tempPathFor(target: string): string {
  const me = currentHolder();
  return join(dirname(target), `.${basename(target)}.tmp-${me.pid}-${me.start_time ?? 'x'}-${counter++}-h${hostTag(me.host)}`);
}

/** Without the host suffix: written by an older version, taken to be this host's. */
const TEMP_NAME = /\.tmp-(\d+)-(\d+|x)-\d+(?:-h([0-9a-f]{8}))?$/;
const LEGACY_TEMP_NAME = /\.tmp-(\d+)-\d+$/;

/** A temporary file of another host whose writer cannot be checked from here: deleted once this old. */
export const FOREIGN_TEMP_MAX_AGE_MS = 24 * 3600_000;

/**
 * True when name is a temporary file of a writer that is gone, 'foreign' when another host wrote it
 * (its pid means nothing here), false otherwise.
 */
export function tempState(name: string): 'dead' | 'foreign' | false {
  if (!name.startsWith('.')) return false;
  const m = TEMP_NAME.exec(name);
  if (m) {
    if (m[3] !== undefined && m[3] !== hostTag(currentHolder().host)) return 'foreign';
    return holderState({ pid: Number(m[1]), start_time: m[2] === 'x' ? null : m[2]!, host: currentHolder().host }) === 'dead' ? 'dead' : false;
  }
  const legacy = LEGACY_TEMP_NAME.exec(name);
  return legacy && !pidExists(Number(legacy[1])) ? 'dead' : false;
}

/** True when name is a temporary file of a writer on this host that is gone. */
export function isDeadTemp(name: string): boolean {
  return tempState(name) === 'dead';
}

/**
 * Deletes the temporary files that dead writers left in dir and its subfolders down to depth (a cache
 * spreads its entries over subfolders). Live writers' files are left alone: a cache is shared by runs.
 * Another host's are deleted only after FOREIGN_TEMP_MAX_AGE_MS (their writer cannot be checked from here).
 * Returns how many were removed.
 */
export async function removeDeadTemps(dir: string, depth = 1): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
  if (!entries) return 0;
  let removed = 0;
  for (const e of entries) {
    const p = join(dir, e.name);
    const state = e.isFile() ? tempState(e.name) : false;
    const old = state === 'foreign' && Date.now() - ((await stat(p).catch(() => null))?.mtimeMs ?? Date.now()) > FOREIGN_TEMP_MAX_AGE_MS;
    if (state === 'dead' || old) {
      await rm(p, { force: true });
      removed++;
    } else if (e.isDirectory() && depth > 0) removed += await removeDeadTemps(p, depth - 1);
  }
  return removed;
}

const fsOpen = promisify(fsCb.open);
const fsWrite = promisify(fsCb.writeFile);
const fsSync = promisify(fsCb.fsync);
const fsClose = promisify(fsCb.close);

/**
 * Write a whole file atomically: data goes to a temporary name, is fsynced, then renamed. `mkdir: false` when
 * the caller knows the folder exists (a cache writing thousands of entries into folders it made already).
 * Plain descriptors, not fs/promises FileHandles: a FileHandle costs more CPU than the write of a small file.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, opts: { mkdir?: boolean } = {}): Promise<void> {
  if (opts.mkdir !== false) await mkdir(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    const fd = await fsOpen(tmp, 'w');
    try {
      await fsWrite(fd, data);
      await fsSync(fd);
    } finally {
      await fsClose(fd);
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

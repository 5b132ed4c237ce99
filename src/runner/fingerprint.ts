import { stat, readFile } from 'node:fs/promises';
import { hashValue, sha256 } from '../core/hash.js';
import { UserError } from '../core/errors.js';

/**
 * Raw inputs can be tens of GB, so they are fingerprinted by path, size and modification time
 * (as make does) rather than read in full on every rerun.
 */
export async function fingerprintInputFiles(files: readonly string[]): Promise<string> {
  const entries: [string, number, number][] = [];
  for (const f of files) {
    const st = await stat(f);
    entries.push([f, st.size, Math.floor(st.mtimeMs)]);
  }
  return hashValue(entries);
}

/** Small files a stage depends on (benchmark lists, label files) are fingerprinted by content. */
export async function fingerprintDependencies(stage: string, files: readonly string[]): Promise<string> {
  const entries: [string, string][] = [];
  for (const f of [...files].sort()) {
    const data = await readFile(f).catch(() => {
      throw new UserError(`The ${stage} stage needs "${f}", which cannot be read.`);
    });
    entries.push([f, sha256(data)]);
  }
  return hashValue(entries);
}

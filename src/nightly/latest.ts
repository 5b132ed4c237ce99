import { readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';

export const LATEST = 'latest';

/** The night `latest` points to (a folder name inside root), or null. */
export async function readLatest(root: string): Promise<string | null> {
  return readlink(join(root, LATEST)).catch(() => null);
}

/**
 * Points root/latest at root/<night>, atomically: a symlink is made under a temporary name and renamed over
 * the old one, so a reader always sees either the previous night or the new one, never a missing link.
 * The target is relative, so the root can be moved or mounted elsewhere.
 */
export async function switchLatest(root: string, night: string): Promise<void> {
  const tmp = join(root, `.${LATEST}.tmp-${process.pid}`);
  await rm(tmp, { force: true });
  await symlink(night, tmp);
  await rename(tmp, join(root, LATEST));
}

import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { currentHolder, holderState, pidExists, type Holder } from '../core/holder.js';

export { currentHolder, processStartTime } from '../core/holder.js';

function parseHolder(text: string): Holder | null {
  try {
    const v = JSON.parse(text) as Partial<Holder>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.token === 'string') {
      return { pid: v.pid, start_time: typeof v.start_time === 'string' ? v.start_time : null, host: v.host, token: v.token };
    }
  } catch {
    // fall through
  }
  return null;
}

/** A legacy lock names only a pid: it is live if that pid runs a trajpipe (node) process, judged by its command line. */
function legacyHolderAlive(pid: number): boolean {
  if (!pidExists(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /trajpipe|node/.test(cmdline);
  } catch {
    return true; // no /proc: cannot tell, so be safe
  }
}

/** A lock written by an older trajpipe holds a bare pid (or nothing, if it was caught between create and write). */
const LEGACY_GRACE_MS = 10_000;

const held = new Set<string>();

/** Removes the locks this process holds, synchronously: for a signal handler about to exit. */
export function releaseHeldLocksSync(): void {
  for (const path of held) {
    try {
      if (parseHolder(readFileSync(path, 'utf8'))?.token === currentHolder().token) rmSync(path, { force: true });
    } catch {
      // gone already
    }
  }
  held.clear();
}

function describeHolder(h: Holder): string {
  return `pid ${h.pid} on ${h.host}`;
}

/**
 * One run per output folder at a time. The lock is taken atomically with its contents: the holder's
 * identity is written to a temporary file, fsynced, then hard-linked to `.lock` (link never overwrites),
 * so no other run can ever see an empty or half-written lock. A lock whose holder is gone (dead pid, or a
 * live pid with another start time) is taken over.
 */
export async function acquireLock(outDir: string): Promise<() => Promise<void>> {
  await mkdir(outDir, { recursive: true });
  const path = join(outDir, '.lock');
  const me = currentHolder();
  const body = JSON.stringify(me) + '\n';
  const tmp = join(outDir, `.lock.tmp-${me.pid}-${me.token}-${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        await removeIfStale(path, outDir);
        continue;
      }
      // Ours, unless a racing takeover moved it; check before trusting it.
      if (parseHolder(await readFile(path, 'utf8').catch(() => ''))?.token !== me.token) continue;
      held.add(path);
      return async () => {
        held.delete(path);
        const now = parseHolder(await readFile(path, 'utf8').catch(() => ''));
        if (now?.token === me.token) await rm(path, { force: true });
      };
    }
  } finally {
    await rm(tmp, { force: true });
  }
  throw new UserError(`Could not lock ${outDir}: other runs keep taking and releasing ${path}; try again.`);
}

/** Throws when the lock is held by a live run (or one on another host); removes it when its holder is gone. */
async function removeIfStale(path: string, outDir: string): Promise<void> {
  const before = await stat(path).catch(() => null);
  if (!before) return; // released meanwhile
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return;
  const holder = parseHolder(text);
  if (holder) {
    const state = holderState(holder);
    if (state === 'alive') {
      throw new UserError(`Another trajpipe run (${describeHolder(holder)}) is writing to ${outDir}; wait for it to finish or use another --out.`);
    }
    if (state === 'unknown') {
      throw new UserError(
        `${outDir} is locked by a trajpipe run on host ${holder.host} (pid ${holder.pid}), which cannot be checked from here; if that run is gone, delete ${path}.`,
      );
    }
  } else {
    const pid = Number(text.trim());
    const fresh = Date.now() - before.mtimeMs < LEGACY_GRACE_MS;
    if ((Number.isInteger(pid) && pid > 0 && pid !== process.pid && legacyHolderAlive(pid)) || (text.trim() === '' && fresh)) {
      throw new UserError(`Another trajpipe run${pid ? ` (pid ${pid})` : ''} is writing to ${outDir}; wait for it to finish or use another --out.`);
    }
  }
  // Stale: move it aside under a unique name, then make sure what was moved is the file judged stale
  // (a racing run may have replaced it with a fresh lock in between; that one is put back).
  const aside = `${path}.stale-${process.pid}-${currentHolder().token}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await stat(aside).catch(() => null);
  if (!moved) return;
  if (moved.ino !== before.ino || moved.dev !== before.dev) {
    await link(aside, path).catch(() => undefined);
  }
  await rm(aside, { force: true });
}

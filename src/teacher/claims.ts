import { readFile as readFileCb, readFileSync, rmSync, unlink as unlinkCb, writeFile as writeFileCb } from 'node:fs';
import { link, mkdir, open, rename, stat, utimes } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { StageStopped } from '../core/errors.js';
import { currentHolder, holderState } from '../core/holder.js';
import { tempPathFor } from '../io/atomic.js';

// Callback fs, not fs/promises: these run a few times per request, and a FileHandle (and rm's lstat) cost more
// CPU than the small writes themselves.
const readFile = promisify(readFileCb);
const writeFile = promisify(writeFileCb);
const unlinkP = promisify(unlinkCb);
const unlink = (path: string) =>
  unlinkP(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });

/** What a claim file holds: who is asking the teacher for this request, since when (their clock, for people). */
const ClaimFile = z.object({ pid: z.number(), start_time: z.string().nullable(), host: z.string(), token: z.string(), since: z.string() });
type ClaimFile = z.infer<typeof ClaimFile>;

export interface ClaimOptions {
  /** A claim of another host whose file has not changed for this long (on the waiter's clock) is taken over. */
  staleMs: number;
  /** How often the holder touches its claims (well under staleMs, and over NFS attribute caching). */
  heartbeatMs: number;
  /** First and longest pause between two looks at another process's claim. */
  pollMinMs?: number;
  pollMaxMs?: number;
}

/** held: ask the teacher, then release (tookOver: a dead process's claim was removed first). */
export type HeldClaim = { kind: 'held'; tookOver: boolean; release: () => Promise<void> };
export type Answered = { kind: 'answered'; raw: string };
export type ClaimAttempt = HeldClaim | Answered | { kind: 'busy' };
export type WaitResult = Answered | { kind: 'free'; tookOver: boolean };

/** What one look at a claim file saw; the waiter compares looks, never the holder's clock with its own. */
interface Look {
  ino: number;
  mtimeMs: number;
  holder: ClaimFile | null;
}

const held = new Map<string, string>(); // claim path -> token, for the exit hook
let exitHookInstalled = false;

/** Removes this process's claims synchronously (process exit: a clean stop, Ctrl-C, an error). */
export function releaseHeldClaimsSync(): void {
  for (const [path, token] of held) {
    try {
      if (parseClaim(readFileSync(path, 'utf8'))?.token === token) rmSync(path, { force: true });
    } catch {
      // gone already
    }
  }
  held.clear();
}

function parseClaim(text: string): ClaimFile | null {
  try {
    const r = ClaimFile.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/**
 * Per-request claims in a teacher cache shared by processes (shards on a cluster's NFS or Lustre): before
 * sending a request that is not in the cache, a process creates `<key>.claim` beside where the entry will be,
 * exclusively (written to a temporary file, then link()ed, which never overwrites, also over NFS). A process
 * that meets a claim of another waits for that answer to appear in the cache instead of asking again; a claim
 * whose holder is gone is taken over: on this host at once (pid gone or reused), on another once its file has
 * not been touched for staleMs (the holder touches it every heartbeatMs while the request is in flight).
 */
export class CacheClaims {
  private timer: NodeJS.Timeout | null = null;
  private readonly mine = new Set<string>();
  private readonly folders = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly o: ClaimOptions,
  ) {}

  pathFor(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.claim`);
  }

  /**
   * One try, without waiting: holds the claim for key, or finds the answer already in the cache (lookup: a
   * valid entry or null), or says another live process is asking. A dead holder's claim (this host) is taken over.
   */
  async tryClaim(key: string, lookup: () => Promise<string | null>): Promise<ClaimAttempt> {
    const path = this.pathFor(key);
    let tookOver = false;
    for (let tries = 0; tries < 5; tries++) {
      if (await this.tryCreate(path)) {
        // The last holder may have written its answer and released just before we claimed.
        const raw = await lookup();
        if (raw !== null) {
          await this.release(path);
          return { kind: 'answered', raw };
        }
        return { kind: 'held', tookOver, release: () => this.release(path) };
      }
      const raw = await lookup();
      if (raw !== null) return { kind: 'answered', raw };
      const look = await this.look(path);
      if (look === null) continue; // released meanwhile
      if (!look.holder || holderState(look.holder) !== 'dead') return { kind: 'busy' };
      await this.removeIfUnchanged(path, look);
      tookOver = true;
    }
    return { kind: 'busy' };
  }

  /**
   * Waits, polling with backoff, until another process's claim on key ends: with its answer in the cache, or
   * free to claim (released after a failed request, or stale and removed here). Throws StageStopped when
   * stopped() gives a reason.
   */
  async waitFor(key: string, lookup: () => Promise<string | null>, stopped: () => string | null): Promise<WaitResult> {
    const path = this.pathFor(key);
    let delay = this.o.pollMinMs ?? 25;
    let first: { look: Look; at: number } | null = null;
    for (;;) {
      const reason = stopped();
      if (reason) throw new StageStopped(reason);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, this.o.pollMaxMs ?? 1_000);
      const raw = await lookup();
      if (raw !== null) return { kind: 'answered', raw };
      const look = await this.look(path);
      if (look === null) return { kind: 'free', tookOver: false };
      if (!first || first.look.ino !== look.ino || first.look.mtimeMs !== look.mtimeMs) first = { look, at: Date.now() };
      if (this.isStale(look, Date.now() - first.at)) {
        await this.removeIfUnchanged(path, look);
        return { kind: 'free', tookOver: true };
      }
    }
  }

  private isStale(look: Look, unchangedForMs: number): boolean {
    const h = look.holder;
    if (h) {
      const state = holderState(h);
      if (state === 'dead') return true;
      if (state === 'alive') return false;
    }
    // Another host (or an unreadable claim): judged by its file not changing, timed on our own clock, so clock
    // skew between nodes does not matter; a file far older than that on our clock is stale without waiting.
    return unchangedForMs >= this.o.staleMs || Date.now() - look.mtimeMs > 10 * this.o.staleMs;
  }

  /** Creates the claim atomically with its contents; false when someone else holds it. */
  private async tryCreate(path: string): Promise<boolean> {
    const me = currentHolder();
    const body: ClaimFile = { pid: me.pid, start_time: me.start_time, host: me.host, token: me.token, since: new Date().toISOString() };
    const tmp = tempPathFor(path);
    const folder = dirname(path);
    if (!this.folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      this.folders.add(folder);
    }
    await writeFile(tmp, JSON.stringify(body) + '\n').catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await mkdir(folder, { recursive: true }); // the folder was deleted meanwhile
      await writeFile(tmp, JSON.stringify(body) + '\n');
    });
    try {
      try {
        await link(tmp, path);
      } catch (err) {
        // Over NFS a link that succeeded can still report an error (a retransmitted request): the temporary
        // file's link count says what really happened (open(2), O_EXCL).
        if ((await stat(tmp).catch(() => null))?.nlink !== 2) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw err;
        }
      }
    } finally {
      await unlink(tmp);
    }
    this.hold(path, me.token);
    return true;
  }

  private async look(path: string): Promise<Look | null> {
    // open() then fstat: over NFS, opening revalidates the attributes (close-to-open), a bare stat may not.
    const fh = await open(path, 'r').catch(() => null);
    if (!fh) return null;
    try {
      const st = await fh.stat();
      const holder = parseClaim(await fh.readFile('utf8'));
      return { ino: st.ino, mtimeMs: st.mtimeMs, holder };
    } catch {
      return null;
    } finally {
      await fh.close();
    }
  }

  /**
   * Removes a stale claim: moved aside under a unique name, then checked to be the very file judged stale (a
   * racing waiter may have taken it over and claimed anew in between; such a fresh claim is put back).
   */
  private async removeIfUnchanged(path: string, judged: Look): Promise<void> {
    const aside = tempPathFor(path);
    try {
      await rename(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const moved = await stat(aside).catch(() => null);
    if (moved && (moved.ino !== judged.ino || moved.mtimeMs !== judged.mtimeMs)) await link(aside, path).catch(() => undefined);
    await unlink(aside);
  }

  private hold(path: string, token: string): void {
    this.mine.add(path);
    held.set(path, token);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', releaseHeldClaimsSync);
    }
    this.timer ??= setInterval(() => void this.beat(), this.o.heartbeatMs).unref();
  }

  /** Touches every claim this process holds, so waiters on other hosts see it alive. */
  private async beat(): Promise<void> {
    const now = new Date();
    await Promise.all(
      [...this.mine].map((p) =>
        utimes(p, now, now).catch(() => {
          this.mine.delete(p); // gone: taken over by someone who judged us dead; nothing to keep alive
        }),
      ),
    );
  }

  private async release(path: string): Promise<void> {
    this.mine.delete(path);
    const token = held.get(path);
    held.delete(path);
    if (this.mine.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text !== null && parseClaim(text)?.token === token) await unlink(path);
  }
}

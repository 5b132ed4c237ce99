import { readFile as readFileCb } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { sha256 } from '../core/hash.js';
import { writeFileAtomic } from '../io/atomic.js';

/** The callback readFile: no fs/promises FileHandle per read (a miss is the common case and costs a FileHandle too). */
const readFile = promisify(readFileCb);

export const CACHE_FORMAT = 'trajpipe-teacher-cache-1';

/** One cache file: the raw response body exactly as the server sent it, plus what proves it whole. */
const CacheEntry = z
  .object({
    format: z.literal(CACHE_FORMAT),
    key: z.string(),
    model: z.string(),
    prompt_version: z.string(),
    body_sha256: z.string(),
    body: z.string(),
  })
  .strict();
type CacheEntry = z.infer<typeof CacheEntry>;

/**
 * A content-addressed store of raw teacher responses, shared by every run and build. Entries are written
 * to a temporary name, fsynced and renamed, so a kill leaves either nothing or a whole entry; an entry
 * that still fails its checks (edited, truncated by a full disk) reads as a miss and is asked again.
 * Parsed values are never stored: they are re-derived from the body, so a parser change costs no request.
 */
export class ResponseCache {
  corrupt = 0;
  /** Subfolders made (or found) already: a mkdir per write costs more than the write. */
  private readonly folders = new Set<string>();

  constructor(readonly dir: string) {}

  pathFor(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<string | null> {
    const text = await readFile(this.pathFor(key), 'utf8').catch(() => null);
    if (text === null) return null;
    let entry: CacheEntry;
    try {
      const parsed = CacheEntry.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error('bad entry');
      entry = parsed.data;
    } catch {
      this.corrupt++;
      return null;
    }
    if (entry.key !== key || sha256(entry.body) !== entry.body_sha256) {
      this.corrupt++;
      return null;
    }
    return entry.body;
  }

  async put(key: string, meta: { model: string; prompt_version: string }, body: string): Promise<void> {
    const entry: CacheEntry = { format: CACHE_FORMAT, key, model: meta.model, prompt_version: meta.prompt_version, body_sha256: sha256(body), body };
    await writeInFolder(this.pathFor(key), JSON.stringify(entry) + '\n', this.folders);
  }
}

/** writeFileAtomic, making the folder only the first time (or again when it was deleted meanwhile). */
export async function writeInFolder(target: string, data: string, made: Set<string>): Promise<void> {
  const folder = dirname(target);
  if (!made.has(folder)) {
    await mkdir(folder, { recursive: true });
    made.add(folder);
  }
  try {
    await writeFileAtomic(target, data, { mkdir: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await writeFileAtomic(target, data);
  }
}

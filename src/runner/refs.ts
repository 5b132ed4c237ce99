import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { StageManifest, StageName } from '../../schemas/index.js';
import { UserError } from '../core/errors.js';
import type { LineLocation } from './parts.js';

// Records between stages are written once. Ingest writes each record whole; a later stage that passes a
// record on unchanged, or only adds fields to it (label's values, segment's segment), writes a reference
// line: where the record's body is (the stage, part file, byte offset and length of the whole line) and
// the fields it has beyond that body. Copying every run through five stages wrote, encoded and hashed the
// corpus five times (the largest cost of a run after redaction, docs/bench.md); a reference is a hundred
// bytes. The frame resolves references when it reads a folder (ctx.records(), stageRecords), so a stage
// never sees one, and `trajpipe records RUN STAGE` prints a stage's records whole.

/** The key that marks a reference line; no record has it. */
export const REF_KEY = '$ref';

/** A whole record line of a stage's part file. */
export interface LineRef extends LineLocation {
  stage: StageName;
}

/** The reference line of a record: its body's place, its id (checked on reading), then its added fields (JSON text) in order. */
export function refLine(ref: LineRef, id: string, extras: readonly (readonly [string, string])[]): string {
  let line = `{${JSON.stringify(REF_KEY)}:${JSON.stringify({ stage: ref.stage, part: ref.part, offset: ref.offset, bytes: ref.bytes })},"id":${JSON.stringify(id)}`;
  for (const [k, v] of extras) line += `,${JSON.stringify(k)}:${v}`;
  return line + '}';
}

const REF_PREFIX = Buffer.from(`{"${REF_KEY}":`);

/** Whether a line's bytes are a reference line (they start as refLine writes them). */
export function isRefLine(bytes: Uint8Array): boolean {
  if (bytes.length < REF_PREFIX.length) return false;
  for (let i = 0; i < REF_PREFIX.length; i++) if (bytes[i] !== REF_PREFIX[i]) return false;
  return true;
}

/**
 * Reads the lines references point at, in one run folder. Each referenced stage is checked once: its
 * current output must be the one the referencing stage was written against (its manifest's `references`),
 * else the references may point at other bytes and reading stops with a sentence.
 */
export class LineReader {
  private readonly handles = new Map<string, FileHandle>();
  private readonly checked = new Map<StageName, Promise<void>>();

  constructor(
    private readonly runDir: string,
    /** The stage whose lines hold the references (for the message), and what it was written against. */
    private readonly reader: { stage: StageName; references: Record<string, string> | undefined },
    private readonly manifestOf: (stage: StageName) => Promise<StageManifest | null>,
  ) {}

  async read(ref: LineRef): Promise<Buffer> {
    await this.check(ref.stage);
    const path = join(this.runDir, ref.stage, ref.part);
    let fh = this.handles.get(path);
    if (!fh) {
      // Records are read in order, so one open file per referenced stage at a time is enough.
      for (const [p, h] of this.handles) if (p.startsWith(join(this.runDir, ref.stage) + '/')) {
        this.handles.delete(p);
        await h.close();
      }
      fh = await open(path, 'r');
      this.handles.set(path, fh);
    }
    const buf = Buffer.allocUnsafe(ref.bytes);
    const { bytesRead } = await fh.read(buf, 0, ref.bytes, ref.offset);
    if (bytesRead !== ref.bytes) throw this.stale(ref.stage, `${path} is shorter than a reference into it`);
    return buf;
  }

  private check(stage: StageName): Promise<void> {
    let p = this.checked.get(stage);
    if (!p) {
      p = (async () => {
        const expected = this.reader.references?.[stage];
        const m = await this.manifestOf(stage);
        if (!expected || !m || m.output_fingerprint !== expected) throw this.stale(stage, m ? `its output changed since` : `it has no complete output`);
      })();
      this.checked.set(stage, p);
    }
    return p;
  }

  private stale(stage: StageName, why: string): UserError {
    return new UserError(
      `The ${this.reader.stage} stage's records in ${this.runDir} refer to lines of the ${stage} stage, but ${why}; rerun from ${this.reader.stage} (trajpipe run ... --from ${this.reader.stage}).`,
    );
  }

  async close(): Promise<void> {
    for (const h of this.handles.values()) await h.close().catch(() => undefined);
    this.handles.clear();
  }
}

import { Buffer } from 'node:buffer';
import { dirname, join } from 'node:path';
import { STAGE_ORDER, type PipelineRecord, type StageManifest, type StageName } from '../../schemas/index.js';
import { UserError } from '../core/errors.js';
import { pickFields } from '../io/json-fields.js';
import { scanRawLines } from '../io/jsonl.js';
import { readManifest } from './manifest.js';
import { isRefLine, LineReader, REF_KEY, type LineRef } from './refs.js';
import type { Held } from './held.js';

/** One line of a stage's part files: the record (whole, or the picked fields), or why it could not be read. */
export type StageLine =
  | {
      ok: true;
      record: PipelineRecord;
      file: string;
      line: number;
      /** The line as written (a reference line or a whole record). */
      bytes: Uint8Array;
      isRef: boolean;
      /** How the frame holds it: where its body is, its added fields (and, read whole, the body's text and keys). */
      held: Held;
      /** The record whole (for a line read with picked fields: read whole now). */
      whole: () => Promise<PipelineRecord>;
    }
  | { ok: false; file: string; line: number; message: string };

const decode = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

const ID: ReadonlySet<string> = new Set(['id']);

/** A reference line: where the body is, the record's id, and its added fields. */
function parseRefLine(bytes: Uint8Array): { ref: LineRef; id: string; rest: Record<string, unknown> } {
  const { [REF_KEY]: rawRef, id, ...rest } = JSON.parse(decode(bytes)) as Record<string, unknown>;
  if (typeof id !== 'string') throw new SyntaxError('a reference line without an id');
  return { ref: parseRef(rawRef), id, rest };
}

function parseRef(v: unknown): LineRef {
  const r = v as Partial<LineRef> | null;
  if (
    !r ||
    typeof r !== 'object' ||
    !(STAGE_ORDER as readonly string[]).includes(r.stage as string) ||
    typeof r.part !== 'string' ||
    !/^part-\d+\.jsonl$/.test(r.part) ||
    !Number.isSafeInteger(r.offset) ||
    !Number.isSafeInteger(r.bytes)
  ) {
    throw new SyntaxError(`a reference line whose ${REF_KEY} is not a reference`);
  }
  return { stage: r.stage as StageName, part: r.part, offset: r.offset!, bytes: r.bytes! };
}

/**
 * Turns the lines of one complete stage folder into records: whole lines are parsed, reference lines are
 * joined with the line they point at (checked to be the same run, and a referenced stage checked to be
 * the output they were written against). With `fields`, only those fields are parsed, from the reference
 * line where it has them, else from the body's line, whose other bytes are skipped without decoding.
 */
export class RecordResolver {
  readonly stage: StageName;
  private readonly lines: LineReader;

  constructor(folder: { manifest: StageManifest; dir: string }) {
    this.stage = folder.manifest.stage;
    const runDir = dirname(folder.dir);
    this.lines = new LineReader(runDir, { stage: this.stage, references: folder.manifest.references }, (s) => readManifest(join(runDir, s)));
  }

  /** A line of this folder (`part`, at `offset`) as a record. Throws SyntaxError for a damaged line, UserError for a stale reference. */
  async resolve(bytes: Uint8Array, part: string, offset: number, fields: ReadonlySet<string> | null): Promise<{ record: PipelineRecord; held: Held; isRef: boolean }> {
    if (!isRefLine(bytes)) {
      const ref: LineRef = { stage: this.stage, part, offset, bytes: bytes.byteLength };
      if (fields) {
        const record = pickFields(bytes, fields) as PipelineRecord;
        return { record, held: { id: record.id, ref, baseKeys: null, extras: [], body: null, record: null }, isRef: false };
      }
      const body = decode(bytes);
      const record = JSON.parse(body) as PipelineRecord;
      return { record, held: { id: record.id, ref, baseKeys: Object.keys(record), extras: [], body, record }, isRef: false };
    }
    const { ref, id, rest } = parseRefLine(bytes);
    const extras = Object.entries(rest).map(([k, v]): [string, string] => [k, JSON.stringify(v)]);
    if (fields) {
      const need = [...fields].filter((k) => !Object.hasOwn(rest, k));
      let base: Record<string, unknown> = {};
      let body: Uint8Array | null = null;
      if (need.length) {
        body = await this.lines.read(ref);
        base = pickFields(body, new Set([...need, 'id']));
        this.checkId(base.id, id, ref);
      }
      const picked: Record<string, unknown> = {};
      for (const k of fields) {
        if (k === 'id') picked[k] = id;
        else if (Object.hasOwn(rest, k)) picked[k] = rest[k];
        else if (Object.hasOwn(base, k)) picked[k] = base[k];
      }
      // The body read for the picks is kept: passing the record on hands it over without reading it again.
      return { record: picked as PipelineRecord, held: { id, ref, baseKeys: null, extras, body, record: null }, isRef: true };
    }
    const body = decode(await this.lines.read(ref));
    const base = JSON.parse(body) as Record<string, unknown>;
    this.checkId(base.id, id, ref);
    const baseKeys = Object.keys(base);
    Object.assign(base, rest);
    const record = base as PipelineRecord;
    return { record, held: { id, ref, baseKeys, extras, body, record }, isRef: true };
  }

  /**
   * A line as the frame holds a record it does not parse: its body's text (read where a reference points)
   * and its added fields, for a worker to parse. Only the body's id is read here, to check a reference.
   */
  async held(bytes: Uint8Array, part: string, offset: number): Promise<Held> {
    if (!isRefLine(bytes)) {
      const id = pickFields(bytes, ID).id;
      if (typeof id !== 'string') throw new SyntaxError('a record without an id');
      return { id, ref: { stage: this.stage, part, offset, bytes: bytes.byteLength }, baseKeys: null, extras: [], body: decode(bytes), record: null };
    }
    const { ref, id, rest } = parseRefLine(bytes);
    const bodyBytes = await this.lines.read(ref);
    this.checkId(pickFields(bodyBytes, ID).id, id, ref);
    const extras = Object.entries(rest).map(([k, v]): [string, string] => [k, JSON.stringify(v)]);
    return { id, ref, baseKeys: null, extras, body: decode(bodyBytes), record: null };
  }

  private checkId(found: unknown, expected: string, ref: LineRef): void {
    if (found !== expected) {
      throw new UserError(
        `The ${this.stage} stage's record ${expected} refers to line bytes ${ref.offset}-${ref.offset + ref.bytes} of ${ref.stage}/${ref.part}, which hold ${typeof found === 'string' ? `record ${found}` : 'no record'}; rerun from ${this.stage}.`,
      );
    }
  }

  close(): Promise<void> {
    return this.lines.close();
  }
}

/**
 * The records of a complete stage folder, in order, from its manifest's part files, whole (reference lines
 * resolved) or, with `fields`, only those top-level fields (the rest of each line is skipped undecoded).
 * A damaged line comes out as `ok: false`; a stale reference stops the reading (UserError).
 */
export async function* stageRecords(folder: { manifest: StageManifest; dir: string }, opts: { fields?: readonly string[] } = {}): AsyncGenerator<StageLine> {
  const fields = opts.fields ? new Set(opts.fields) : null;
  const resolver = new RecordResolver(folder);
  try {
    for (const out of folder.manifest.outputs) {
      if (!/^part-\d+\.jsonl$/.test(out.path)) continue;
      const file = join(folder.dir, out.path);
      for await (const l of scanRawLines(file)) {
        if ('overlong' in l) continue; // no cap given: none
        let got: Awaited<ReturnType<RecordResolver['resolve']>>;
        try {
          got = await resolver.resolve(l.bytes, out.path, l.offset, fields);
        } catch (err) {
          if (err instanceof UserError) throw err;
          yield { ok: false, file, line: l.line, message: parseError(l.bytes, err) };
          continue;
        }
        const whole = fields ? async () => (await resolver.resolve(l.bytes, out.path, l.offset, null)).record : async () => got.record;
        yield { ok: true, ...got, file, line: l.line, bytes: l.bytes, whole };
      }
    }
  } finally {
    await resolver.close();
  }
}

/** JSON.parse's own message for a line that could not be read (pickFields' is less telling). */
function parseError(bytes: Uint8Array, err: unknown): string {
  try {
    JSON.parse(decode(bytes));
    return (err as Error).message;
  } catch (e) {
    return (e as Error).message;
  }
}

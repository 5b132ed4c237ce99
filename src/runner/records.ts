import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import type { PipelineRecord, StageManifest } from '../../schemas/index.js';
import { pickFields } from '../io/json-fields.js';
import { readLines, scanRawLines } from '../io/jsonl.js';

/** One line of a stage's part files: the record (whole, or the picked fields), or why it could not be read. */
export type StageLine =
  | { ok: true; record: PipelineRecord; file: string; line: number; text: string | null; bytes: Uint8Array | null }
  | { ok: false; file: string; line: number; message: string };

/**
 * The records of a complete stage folder, in order, from its manifest's part files. With `fields`, only
 * those top-level fields are parsed and the rest of each line is skipped without being decoded (a
 * record's messages are most of its bytes): the record then holds those fields only, and `bytes` is its
 * line as written; otherwise `text` is.
 */
export async function* stageRecords(folder: { manifest: StageManifest; dir: string }, opts: { fields?: readonly string[] } = {}): AsyncGenerator<StageLine> {
  const fields = opts.fields ? new Set(opts.fields) : null;
  for (const out of folder.manifest.outputs) {
    if (!/^part-\d+\.jsonl$/.test(out.path)) continue;
    const file = join(folder.dir, out.path);
    if (fields) {
      for await (const l of scanRawLines(file)) {
        if ('overlong' in l) continue; // no cap given: none
        try {
          yield { ok: true, record: pickFields(l.bytes, fields) as PipelineRecord, file, line: l.line, text: null, bytes: l.bytes };
        } catch {
          yield { ok: false, file, line: l.line, message: parseError(l.bytes) };
        }
      }
      continue;
    }
    for await (const l of readLines(file)) {
      try {
        yield { ok: true, record: JSON.parse(l.text) as PipelineRecord, file, line: l.line, text: l.text, bytes: null };
      } catch (err) {
        yield { ok: false, file, line: l.line, message: (err as Error).message };
      }
    }
  }
}

/** JSON.parse's own message for a line that pickFields refused. */
function parseError(bytes: Uint8Array): string {
  try {
    JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    return 'not a JSON object';
  } catch (err) {
    return (err as Error).message;
  }
}

import { join } from 'node:path';
import { once } from 'node:events';
import type { StageName } from '../../schemas/index.js';
import { UserError } from '../core/errors.js';
import { readManifest } from '../runner/manifest.js';
import { stageRecords } from '../runner/records.js';

/**
 * `trajpipe records RUN STAGE`: a stage's records as JSON lines on stdout, whole (reference lines resolved)
 * or only some fields, for jq, DuckDB or a file: the stages after ingest write references, not copies.
 */
export async function printRecords(runDir: string, stage: StageName, fields: readonly string[] | undefined, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const dir = join(runDir, stage);
  const manifest = await readManifest(dir);
  if (!manifest) throw new UserError(`${dir} has no complete output (no valid manifest.json); run the pipeline first.`);
  if (!manifest.outputs.some((o) => /^part-\d+\.jsonl$/.test(o.path))) throw new UserError(`The ${stage} stage writes no records (its outputs are ${manifest.outputs.map((o) => o.path).join(', ') || 'none'}).`);
  let n = 0;
  for await (const l of stageRecords({ manifest, dir }, fields ? { fields } : {})) {
    if (!l.ok) throw new UserError(`Line ${l.line} of ${l.file} is not valid JSON (${l.message}).`);
    // A picked record keeps the line's key order; a whole one is the record as the stage passed it on.
    if (!out.write(JSON.stringify(l.record) + '\n')) await once(out, 'drain');
    n++;
  }
  return n;
}

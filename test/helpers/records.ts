import { join } from 'node:path';
import type { PipelineRecord, StageName } from '../../schemas/index.js';
import { readManifest } from '../../src/runner/manifest.js';
import { stageRecords } from '../../src/runner/records.js';

/**
 * A complete stage folder's records, whole (reference lines resolved, as the stages after it read them);
 * [] when the stage has no complete output. Throws on a damaged line.
 */
export async function recordsOf(runDir: string, stage: StageName): Promise<PipelineRecord[]> {
  const dir = join(runDir, stage);
  const manifest = await readManifest(dir);
  if (!manifest) return [];
  const out: PipelineRecord[] = [];
  for await (const l of stageRecords({ manifest, dir })) {
    if (!l.ok) throw new Error(`${l.file} line ${l.line}: ${l.message}`);
    out.push(l.record);
  }
  return out;
}

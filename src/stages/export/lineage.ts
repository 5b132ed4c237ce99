import { dirname, join } from 'node:path';
import { STAGE_ORDER, type StageManifest } from '../../../schemas/index.js';
import { readManifest } from '../../runner/runner.js';

/**
 * The manifests of the stages that produced export's input, oldest first. The runner keeps every
 * stage in a sibling folder of the run folder, and export's own (temporary) folder sits in that run
 * folder too, so the run folder is the parent of ctx.dir. A sibling counts only if its output is the
 * input of the next one (fingerprints chain), so a stale folder never leaks into the dataset card.
 */
export async function readLineage(stageDir: string, upstream: StageManifest | null): Promise<StageManifest[]> {
  if (!upstream) return [];
  const runDir = dirname(stageDir);
  const chain: StageManifest[] = [upstream];
  for (let i = STAGE_ORDER.indexOf(upstream.stage) - 1; i >= 0; i--) {
    const m = await readManifest(join(runDir, STAGE_ORDER[i]!));
    if (!m || m.output_fingerprint !== chain[0]!.input_fingerprint) break;
    chain.unshift(m);
  }
  return chain;
}

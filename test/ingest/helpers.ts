import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineConfig, type Reject, type StageManifest, type Trajectory } from '../../schemas/index.js';
import { resolveInputs } from '../../src/io/inputs.js';
import { silentLogger } from '../../src/runner/log.js';
import { readManifest, runPipeline } from '../../src/runner/runner.js';
import { STAGES } from '../../src/stages/index.js';
import { tempDir } from '../helpers/cli.js';

export interface IngestResult {
  records: Trajectory[];
  rejects: Reject[];
  manifest: StageManifest;
  out: string;
}

async function jsonLines<T>(path: string): Promise<T[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
}

/** Runs only the ingest stage over `inputs` into a temporary folder and reads back what it wrote. */
export async function ingest(inputs: string[], ingestConfig: Record<string, unknown> = {}, out?: string): Promise<IngestResult> {
  const dir = out ?? (await tempDir('trajpipe-ingest-'));
  const config = PipelineConfig.parse({ name: 'ingest-test', ingest: ingestConfig });
  await runPipeline({ config, stages: STAGES, outDir: dir, inputFiles: await resolveInputs(inputs), only: 'ingest', force: true, options: { dryRun: false, quiet: true }, log: silentLogger });
  const manifest = (await readManifest(join(dir, 'ingest')))!;
  const records: Trajectory[] = [];
  for (const o of manifest.outputs) records.push(...(await jsonLines<Trajectory>(join(dir, 'ingest', o.path))));
  return { records, rejects: await jsonLines<Reject>(join(dir, 'ingest', 'rejects.jsonl')), manifest, out: dir };
}

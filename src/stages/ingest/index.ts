import { dirname, resolve } from 'node:path';
import type { Stage } from '../../runner/stage.js';
import { ancestors, outcomeCandidates } from './files.js';
import { IngestReader } from './reader.js';

/**
 * Reads harness trajectories as they come (formats detected per file or record, see src/formats/)
 * into canonical records, with outcomes joined from label files or the records' own flags.
 */
export const ingestStage: Stage = {
  name: 'ingest',
  summary: 'Reads harness trajectories (SWE-agent, mini-swe-agent, OpenHands, HF chat datasets) into canonical records with outcomes.',
  version: '2',
  configSlice: (config) => config.ingest,
  dependencyFiles: (config) => config.ingest.labels,
  // Outcome files that find_labels may pick up outside the inputs: same search as the reader's.
  async extraInputFiles(config, inputFiles) {
    if (!config.ingest.find_labels) return [];
    const inputs = new Set(inputFiles.map((f) => resolve(f)));
    const dirs = new Set<string>();
    for (const f of inputFiles) for (const d of ancestors(dirname(f), 2)) dirs.add(d);
    const found = new Set<string>();
    for (const d of dirs) for (const c of await outcomeCandidates(d)) if (!inputs.has(resolve(c))) found.add(resolve(c));
    return [...found].sort();
  },
  async run(ctx) {
    await new IngestReader(ctx).run();
  },
};

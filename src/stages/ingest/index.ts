import type { Stage } from '../../runner/stage.js';
import { besideOutcomeFiles } from './beside.js';
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
  // Only the outcome files the reader joins (same search, same parse): an unrelated .json beside the runs is not an input.
  async extraInputFiles(config, inputFiles) {
    if (!config.ingest.find_labels) return [];
    return (await besideOutcomeFiles(inputFiles)).map((b) => b.file).sort();
  },
  async run(ctx) {
    await new IngestReader(ctx).run();
  },
};

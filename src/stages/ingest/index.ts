import type { Stage } from '../../runner/stage.js';
import { IngestReader } from './reader.js';

/**
 * Reads harness trajectories as they come (formats detected per file or record, see src/formats/)
 * into canonical records, with outcomes joined from label files or the records' own flags.
 */
export const ingestStage: Stage = {
  name: 'ingest',
  summary: 'Reads harness trajectories (SWE-agent, mini-swe-agent, OpenHands, HF chat datasets) into canonical records with outcomes.',
  version: '1',
  configSlice: (config) => config.ingest,
  dependencyFiles: (config) => config.ingest.labels,
  async run(ctx) {
    await new IngestReader(ctx).run();
  },
};

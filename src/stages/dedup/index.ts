import type { Stage } from '../../runner/stage.js';
import { passThrough } from '../passthrough.js';

export const dedupStage: Stage = {
  name: 'dedup',
  summary: 'Removes exact and near-duplicate tasks and runs (MinHash LSH), and caps runs per task.',
  version: '0',
  configSlice: (config) => config.dedup,
  run: passThrough,
};

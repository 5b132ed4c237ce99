import type { Stage } from '../../runner/stage.js';
import { passThrough } from '../passthrough.js';

export const labelStage: Stage = {
  name: 'label',
  summary: 'Estimates, per agent step, the hindsight probability that a failed run would still succeed.',
  version: '0',
  configSlice: (config) => config.label,
  run: passThrough,
};

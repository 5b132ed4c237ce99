import type { Stage } from '../../runner/stage.js';
import { passThrough } from '../passthrough.js';

export const segmentStage: Stage = {
  name: 'segment',
  summary: 'Cuts each failed run\'s rising segment before its critical mistake.',
  version: '0',
  configSlice: (config) => config.segment,
  run: passThrough,
};

import type { Stage } from '../runner/stage.js';
import { ingestStage } from './ingest/index.js';
import { filterStage } from './filter/index.js';
import { dedupStage } from './dedup/index.js';
import { labelStage } from './label/index.js';
import { segmentStage } from './segment/index.js';
import { exportStage } from './export/index.js';
import { tokenizeStage } from './tokenize/index.js';
import { formatsStage } from './formats/index.js';
import { poolStage } from './pool/index.js';

/** The pipeline, in order. Stages never import each other; the runner chains them. */
export const STAGES: readonly Stage[] = [ingestStage, filterStage, dedupStage, labelStage, segmentStage, exportStage, tokenizeStage, formatsStage, poolStage];

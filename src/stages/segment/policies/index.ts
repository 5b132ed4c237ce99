import type { PipelineRecord, SegmentConfig, SegmentPolicy } from '../../../../schemas/index.js';
import { decideSegment, type SegmentDecision } from '../decide.js';
import { decideErrorMasking } from './error-masking.js';
import { decideFirstErrorPrefix } from './first-error-prefix.js';
import { decideStepRejection } from './step-rejection.js';
import { decideValueWeighted } from './value-weighted.js';

/** Each credit-assignment policy (docs/segmentation.md, "Policies"): a record and the segment config in, a decision out. */
export const POLICIES: Record<SegmentPolicy, (record: PipelineRecord, cfg: SegmentConfig) => SegmentDecision> = {
  'rising-segment': decideSegment,
  'step-rejection': decideStepRejection,
  'first-error-prefix': decideFirstErrorPrefix,
  'error-masking': decideErrorMasking,
  'value-weighted': decideValueWeighted,
};

export function decidePolicy(policy: SegmentPolicy, record: PipelineRecord, cfg: SegmentConfig): SegmentDecision {
  return POLICIES[policy](record, cfg);
}

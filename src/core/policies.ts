import type { SegmentPolicy } from '../../schemas/index.js';

// Shared by segment (manifest) and export (dataset card), which may not import each other.

/** Where each policy comes from, for the docs, the manifest and the dataset card. */
export const POLICY_SOURCES: Record<SegmentPolicy, string> = {
  'rising-segment': 'Orchard, arXiv 2605.15040: the rising segment before the critical mistake',
  'step-rejection': 'Step Rejection Fine-Tuning, arXiv 2605.10674: incorrect steps stay in the context, untrained',
  'first-error-prefix': 'prefix SFT as in InT, arXiv 2601.14209: the steps before the first error',
  'error-masking': 'SWE-Lego, arXiv 2601.01426: turns answered with an environment error are not trained',
  'value-weighted': 'per-turn loss weights from the value increments c_t = V(s_t+1) - V(s_t), clipped to [0, 1]',
};

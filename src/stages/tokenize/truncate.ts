import { IGNORE_INDEX } from './encode.js';

export type Fitted = { inputIds: number[]; labels: number[]; truncated: boolean } | { reason: string; message: string };

/**
 * A row longer than max_seq_len is cut just after its last trained token when that fits (what follows
 * trains nothing and, under causal attention, cannot change the loss before it); otherwise a trained
 * turn would be cut, so the row is rejected instead of being trained on a truncated span.
 */
export function fitToLength(inputIds: number[], labels: number[], maxSeqLen: number | null): Fitted {
  if (maxSeqLen === null || inputIds.length <= maxSeqLen) return { inputIds, labels, truncated: false };
  let last = labels.length - 1;
  while (last >= 0 && labels[last] === IGNORE_INDEX) last--;
  if (last + 1 > maxSeqLen) {
    return {
      reason: 'too-long-for-max-seq-len',
      message: `it renders to ${inputIds.length} tokens and its last trained token is token ${last + 1}, beyond max_seq_len ${maxSeqLen}`,
    };
  }
  return { inputIds: inputIds.slice(0, last + 1), labels: labels.slice(0, last + 1), truncated: true };
}

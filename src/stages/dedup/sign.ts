import type { DedupConfig } from '../../../schemas/config/dedup.js';
import type { PipelineRecord } from '../../../schemas/index.js';
import { Signer, type RunSignature, type TaskSignature } from './signature.js';

/** A run's signatures for dedup's map: its task's (used for the task's first run), its own, and the statement to embed. */
export interface Signed {
  task: TaskSignature;
  run: Omit<RunSignature, 'key'>;
  /** The task statement (for semantic dedup's embeddings); '' when semantic dedup is off. */
  statement: string;
}

const signers = new Map<string, Signer>();

/** The record function 'dedup.sign': run where the record is parsed (a worker), one Signer per thread and config. */
export function signRecord(record: PipelineRecord, input: { dedup: DedupConfig }): Signed {
  const key = JSON.stringify(input.dedup);
  let signer = signers.get(key);
  if (!signer) {
    if (signers.size > 4) signers.clear();
    signer = new Signer(input.dedup);
    signers.set(key, signer);
  }
  const { key: _key, ...run } = signer.run(record, [0, '', 0]);
  return { task: signer.task(record), run, statement: input.dedup.semantic.enabled ? record.task.trim() : '' };
}

/** Whole records signed here (a shard's map reads filter's folder whole). */
export async function* signWhole(records: AsyncIterable<PipelineRecord>, dedup: DedupConfig): AsyncGenerator<{ record: PipelineRecord; signed: Signed }> {
  for await (const record of records) yield { record, signed: signRecord(record, { dedup }) };
}

import { createHash } from 'node:crypto';
import type { DedupConfig } from '../../../schemas/config/dedup.js';
import type { PipelineRecord, Step } from '../../../schemas/index.js';
import { sha256 } from '../../core/hash.js';
import { MinHasher, shingles } from './minhash.js';
import { normalizeStatement, statementWords } from './normalize.js';

/**
 * The dedup map: what the reduce needs of each run and task, and nothing else (no text). A shard writes
 * these for its records; the reduce reads every shard's and decides. A single process does the same.
 */

/**
 * A run's place in the global input order, computable by every shard: the index of its file in the sorted
 * input list (all shards list the same inputs), then its record number there. A record whose file is not an
 * input (a canonical record re-ingested) sorts after all inputs, by its file name.
 */
export type OrderKey = [fileIndex: number, file: string, record: number];

export function compareKeys(a: OrderKey, b: OrderKey): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) || a[2] - b[2];
}

export function orderKeyer(inputFiles: readonly string[]): (record: Pick<PipelineRecord, 'source'>) => OrderKey {
  const index = new Map(inputFiles.map((f, i) => [f, i]));
  return (r) => {
    const i = index.get(r.source.file);
    return i === undefined ? [inputFiles.length, r.source.file, r.source.record] : [i, '', r.source.record];
  };
}

export interface TaskSignature {
  task_id: string;
  /** Hash of the normalised statement. */
  exact: string;
  /** The normalised statement is empty (such tasks are never exact duplicates of each other). */
  empty: boolean;
  /** MinHash signature, base64 of uint32 values; null when MinHash is off or the statement has no words. */
  minhash: string | null;
}

export interface RunSignature {
  key: OrderKey;
  id: string;
  task_id: string;
  resolved: boolean | null;
  /** Hash of the run's actions in order. */
  actions: string;
  /** MinHash of its steps and step pairs (for the per-task cap's diversity), base64; null without a cap. */
  action_sig: string | null;
}

export interface EmbeddingLine {
  task_id: string;
  /** Unit vector, base64 of float32 values. */
  v: string;
}

export const ACTION_PERM = 32;

export const encodeU32 = (a: Uint32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
export const decodeU32 = (s: string): Uint32Array => {
  const b = Buffer.from(s, 'base64');
  return new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
export const encodeF32 = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
export const decodeF32 = (s: string): Float32Array => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** Action hash of a step: the same actions in the same order give the same key, whatever was observed. */
function stepKey(step: Step): string {
  if (step.actions.length === 0) return 'none';
  return step.actions.map((a) => [a.kind, a.name ?? '', a.command ?? '', a.arguments ?? ''].join('\u001f')).join('\u001e');
}

export class Signer {
  private readonly hasher: MinHasher;
  private readonly actionHasher: MinHasher;
  constructor(private readonly cfg: DedupConfig) {
    const m = cfg.minhash;
    this.hasher = new MinHasher(m.bands * m.rows, m.seed);
    this.actionHasher = new MinHasher(ACTION_PERM, m.seed + 1);
  }

  task(record: PipelineRecord): TaskSignature {
    const normalized = normalizeStatement(record.task);
    const sig = this.cfg.minhash.enabled ? this.hasher.signature(shingles(statementWords(normalized), this.cfg.minhash.shingle_size)) : null;
    return { task_id: record.task_id, exact: sha256(normalized).slice(0, 32), empty: normalized === '', minhash: sig ? encodeU32(sig) : null };
  }

  run(record: PipelineRecord, key: OrderKey): RunSignature {
    const h = createHash('sha256');
    const keys = new Set<string>();
    let prev = '^';
    for (const step of record.steps) {
      const k = stepKey(step);
      h.update(k).update('\u001d');
      // Steps and step pairs: two runs doing the same things in another order still look alike.
      keys.add(k);
      keys.add(prev + '\u001d' + k);
      prev = k;
    }
    const sig = this.cfg.per_task_cap !== null ? this.actionHasher.signature(keys) : null;
    return { key, id: record.id, task_id: record.task_id, resolved: record.outcome.resolved, actions: h.digest('hex').slice(0, 16), action_sig: sig ? encodeU32(sig) : null };
  }
}

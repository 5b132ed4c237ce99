import { MinHasher, shingles } from '../stages/dedup/minhash.js';
import { statementWords } from '../stages/dedup/normalize.js';
import type { TaskPool } from './pool.js';

/**
 * MinHash signatures of normalised task statements, for dedup to call (a batch per task, so the copy to
 * a worker is a list of strings and the answer a list of Uint32Arrays): the same MinHasher, shingles and
 * words as dedup's planner, so a signature does not depend on where it was computed.
 */
export interface SignatureInput {
  numPerm: number;
  seed: number;
  shingleSize: number;
  /** Statements already normalised (normalizeStatement). */
  statements: string[];
}

const hashers = new Map<string, MinHasher>();

export function statementSignatures(input: SignatureInput): (Uint32Array | null)[] {
  const key = `${input.numPerm}:${input.seed}`;
  let hasher = hashers.get(key);
  if (!hasher) hashers.set(key, (hasher = new MinHasher(input.numPerm, input.seed)));
  return input.statements.map((s) => hasher.signature(shingles(statementWords(s), input.shingleSize)));
}

/** The same, through a pool: in a worker when it has threads, here otherwise. */
export function signaturesInPool(pool: TaskPool, input: SignatureInput): Promise<(Uint32Array | null)[]> {
  return pool.run('dedup.signatures', input);
}

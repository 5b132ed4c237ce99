import type { PipelineConfig, PipelineRecord } from '../../../schemas/index.js';
import { buildRules, firstHit, type Hit } from './rules.js';
import type { StoredCounts } from './length.js';
import type { RuleName } from './rule.js';
import type { FilterRule } from './rule.js';

export interface CheckInput extends Pick<PipelineConfig, 'filter' | 'tokenizer'> {
  /** The length rule's counts of an earlier run for this record id (the store lives in the main thread). */
  known: unknown;
  /** Names the files the rules read (benchmark id lists): rules built from other contents are not reused. */
  rulesKey: string;
}

export interface CheckResult {
  tried: RuleName[];
  hit: Hit;
  /** Counts the length rule made for this record: the main thread keeps them for the next run. */
  counted?: StoredCounts;
}

/** The store the length rule sees for one record: what the main thread knew, and what the rule counted. */
class OneRecordStore {
  known: unknown = undefined;
  counted: StoredCounts | undefined = undefined;
  get(): unknown {
    return this.known;
  }
  set(_key: string, value: unknown): void {
    this.counted = value as StoredCounts;
  }
}

const built = new Map<string, Promise<{ rules: FilterRule[]; store: OneRecordStore }>>();

/**
 * Every filter rule over one record (the record function 'filter.check', run where the record is parsed):
 * the rules are built once per thread and config (benchmark lists, tokenizer), the verdict comes back.
 */
export async function checkRecord(record: PipelineRecord, input: CheckInput): Promise<CheckResult> {
  const key = JSON.stringify([input.filter, input.tokenizer, input.rulesKey]);
  let b = built.get(key);
  if (!b) {
    if (built.size > 4) built.clear();
    const store = new OneRecordStore();
    b = buildRules(input, undefined, store).then((rules) => ({ rules, store }));
    built.set(key, b);
  }
  const { rules, store } = await b;
  // Synchronous from here to the return: no other record can use the store meanwhile.
  store.known = input.known;
  store.counted = undefined;
  const { tried, hit } = firstHit(rules, record);
  return store.counted === undefined ? { tried, hit } : { tried, hit, counted: store.counted };
}

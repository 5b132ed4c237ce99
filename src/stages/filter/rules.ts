import type { PipelineConfig, PipelineRecord } from '../../../schemas/index.js';
import { loadTokenCounter } from '../../core/tokenizer.js';
import { benchmarkSources, loadBenchmarks, type Benchmarks } from './benchmarks.js';
import { decontaminateRule } from './decontaminate.js';
import { infrastructureRule } from './infrastructure.js';
import { lengthRule, type CountStore } from './length.js';
import { loopsRule } from './loops.js';
import { malformedRule } from './malformed.js';
import { isFailed, RULE_NAMES, type FilterRule, type RuleName, type Verdict } from './rule.js';
import { unfinishedRule } from './unfinished.js';

/**
 * The enabled rules in the order they are tried; the first that matches drops the record.
 * Infrastructure comes before malformed and unfinished: a run killed by a RetryError often also
 * looks unfinished, and it must be reported as the environment's failure, not the agent's.
 */
export async function buildRules(config: Pick<PipelineConfig, 'filter' | 'tokenizer'>, loaded?: (bench: Benchmarks) => void, counts?: CountStore): Promise<FilterRule[]> {
  const f = config.filter;
  const rules: FilterRule[] = [];
  for (const name of RULE_NAMES) {
    if (!f[name].enabled) continue;
    switch (name) {
      case 'decontaminate': {
        const bench = await loadBenchmarks(benchmarkSources(f.decontaminate));
        loaded?.(bench);
        rules.push(decontaminateRule(f.decontaminate, bench));
        break;
      }
      case 'infrastructure':
        rules.push(infrastructureRule(f.infrastructure));
        break;
      case 'malformed':
        rules.push(malformedRule(f.malformed));
        break;
      case 'unfinished':
        rules.push(unfinishedRule(f.unfinished));
        break;
      case 'length':
        rules.push(lengthRule(f.length, await loadTokenCounter(config.tokenizer), counts));
        break;
      case 'loops':
        rules.push(loopsRule(f.loops));
        break;
    }
  }
  return rules;
}

export interface RuleStats {
  enabled: boolean;
  apply_to: string;
  checked: number;
  dropped: number;
  reasons: Record<string, number>;
}

export type Hit = { rule: RuleName; verdict: Verdict } | null;

export function tally(stats: Record<string, RuleStats>, tried: readonly RuleName[], hit: Hit): void {
  for (const name of tried) stats[name]!.checked++;
  if (!hit) return;
  const s = stats[hit.rule]!;
  s.dropped++;
  s.reasons[hit.verdict.reason] = (s.reasons[hit.verdict.reason] ?? 0) + 1;
}

/** The first rule that drops the record, and the rules tried up to it; stats are counted by the caller, in input order. */
export function firstHit(rules: readonly FilterRule[], record: PipelineRecord): { tried: RuleName[]; hit: Hit } {
  const failed = isFailed(record);
  const tried: RuleName[] = [];
  for (const rule of rules) {
    if (rule.applyTo === 'failed' && !failed) continue;
    tried.push(rule.name);
    const verdict = rule.check(record);
    if (verdict) return { tried, hit: { rule: rule.name, verdict } };
  }
  return { tried, hit: null };
}

/** Runs the rules over one record, counting what each rule looked at and dropped. */
export function applyRules(rules: readonly FilterRule[], record: PipelineRecord, stats: Record<string, RuleStats>): Hit {
  const { tried, hit } = firstHit(rules, record);
  tally(stats, tried, hit);
  return hit;
}

export function emptyRuleStats(config: PipelineConfig): Record<string, RuleStats> {
  return Object.fromEntries(
    RULE_NAMES.map((name) => [name, { enabled: config.filter[name].enabled, apply_to: config.filter[name].apply_to, checked: 0, dropped: 0, reasons: {} }]),
  );
}


import type { PipelineConfig, PipelineRecord } from '../../../schemas/index.js';
import type { Stage, StageContext } from '../../runner/stage.js';
import { loadTokenCounter } from '../../core/tokenizer.js';
import { passThrough } from '../passthrough.js';
import { benchmarkSources, decontaminationWarning, loadBenchmarks, type Benchmarks } from './benchmarks.js';
import { decontaminateRule } from './decontaminate.js';
import { infrastructureRule } from './infrastructure.js';
import { lengthRule } from './length.js';
import { loopsRule } from './loops.js';
import { malformedRule } from './malformed.js';
import { isFailed, RULE_NAMES, type FilterRule, type RuleName, type Verdict } from './rule.js';
import { unfinishedRule } from './unfinished.js';

/**
 * The enabled rules in the order they are tried; the first that matches drops the record.
 * Infrastructure comes before malformed and unfinished: a run killed by a RetryError often also
 * looks unfinished, and it must be reported as the environment's failure, not the agent's.
 */
export async function buildRules(config: PipelineConfig, loaded?: (bench: Benchmarks) => void): Promise<FilterRule[]> {
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
        rules.push(lengthRule(f.length, await loadTokenCounter(config.tokenizer)));
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

/** Runs the rules over one record, counting what each rule looked at and dropped. */
export function applyRules(rules: readonly FilterRule[], record: PipelineRecord, stats: Record<string, RuleStats>): { rule: RuleName; verdict: Verdict } | null {
  const failed = isFailed(record);
  for (const rule of rules) {
    if (rule.applyTo === 'failed' && !failed) continue;
    const s = stats[rule.name]!;
    s.checked++;
    const verdict = rule.check(record);
    if (verdict) {
      s.dropped++;
      s.reasons[verdict.reason] = (s.reasons[verdict.reason] ?? 0) + 1;
      return { rule: rule.name, verdict };
    }
  }
  return null;
}

export function emptyRuleStats(config: PipelineConfig): Record<string, RuleStats> {
  return Object.fromEntries(
    RULE_NAMES.map((name) => [name, { enabled: config.filter[name].enabled, apply_to: config.filter[name].apply_to, checked: 0, dropped: 0, reasons: {} }]),
  );
}

async function runFilter(ctx: StageContext): Promise<void> {
  const rules = await buildRules(ctx.config, (bench) => ctx.setStat('benchmark_ids', bench.counts));
  const stats = emptyRuleStats(ctx.config);
  for await (const record of ctx.records()) {
    const hit = applyRules(rules, record, stats);
    if (!hit) {
      ctx.count('kept_by_outcome', record.outcome.resolved === true ? 'resolved' : record.outcome.resolved === false ? 'failed' : 'unknown');
      await ctx.emit(record);
      continue;
    }
    const where = `${record.source.file} record ${record.source.record} (task ${record.task_id}, run ${record.id})`;
    await ctx.reject({
      reason: hit.verdict.reason,
      message: `${where} dropped by the ${hit.rule} rule: ${hit.verdict.message}.`,
      id: record.id,
      task_id: record.task_id,
      file: record.source.file,
      record: record.source.record,
      details: { rule: hit.rule, ...hit.verdict.details },
    });
  }
  ctx.setStat('rules', stats);
  // Environment failures are not the agent's fault: reported on their own, apart from the agent's mistakes.
  const infra = stats.infrastructure!;
  ctx.setStat('infrastructure_failures', { total: infra.dropped, reasons: infra.reasons });
  ctx.setStat('rule_order', rules.map((r) => r.name));
}

export const filterStage: Stage = {
  name: 'filter',
  summary: 'Drops contaminated, malformed, unfinished, over-long, looping and infrastructure-failed runs.',
  // 5: the bundled benchmark lists are checked by default; decontaminated-id rejects name their lists (4: undeclared tools, after-submit text).
  version: '5',
  // The length limits are counted with the shared tokenizer, so its choice changes this stage's output.
  configSlice: (config) => ({ ...config.filter, tokenizer: config.tokenizer }),
  // The lists' contents, bundled ones included, are fingerprinted: editing one reruns filter.
  dependencyFiles: (config) =>
    config.filter.enabled && config.filter.decontaminate.enabled ? benchmarkSources(config.filter.decontaminate).map((s) => s.file) : [],
  warnings: (config) => [decontaminationWarning(config.filter)].filter((w): w is string => w !== null),
  run: (ctx) => (ctx.config.filter.enabled ? runFilter(ctx) : passThrough(ctx)),
};

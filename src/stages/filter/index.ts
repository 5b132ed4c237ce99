import type { PipelineConfig, PipelineRecord } from '../../../schemas/index.js';
import type { Stage, StageContext } from '../../runner/stage.js';
import { loadTokenCounter } from '../../core/tokenizer.js';
import { orderedMap } from '../../workers/ordered.js';
import { sharedPool, type TaskPool } from '../../workers/pool.js';
import { passThrough } from '../passthrough.js';
import { benchmarkSources, decontaminationWarning, loadBenchmarks, type Benchmarks } from './benchmarks.js';
import { decontaminateRule } from './decontaminate.js';
import { infrastructureRule } from './infrastructure.js';
import { lengthRule, LENGTH_COUNTS_VERSION, type CountStore } from './length.js';
import { hashValue } from '../../core/hash.js';
import { loopsRule } from './loops.js';
import { malformedRule } from './malformed.js';
import { isFailed, RULE_NAMES, type FilterRule, type RuleName, type Verdict } from './rule.js';
import { unfinishedRule } from './unfinished.js';

/**
 * The enabled rules in the order they are tried; the first that matches drops the record.
 * Infrastructure comes before malformed and unfinished: a run killed by a RetryError often also
 * looks unfinished, and it must be reported as the environment's failure, not the agent's.
 */
export async function buildRules(config: PipelineConfig, loaded?: (bench: Benchmarks) => void, pool?: TaskPool, counts?: CountStore): Promise<FilterRule[]> {
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
        rules.push(lengthRule(f.length, await loadTokenCounter(config.tokenizer), pool && { pool, tokenizer: config.tokenizer }, counts));
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

type Hit = { rule: RuleName; verdict: Verdict } | null;

/** The first rule that drops the record, and the rules tried up to it; stats are counted by the caller, in input order. */
async function firstHit(rules: readonly FilterRule[], record: PipelineRecord): Promise<{ tried: RuleName[]; hit: Hit }> {
  const failed = isFailed(record);
  const tried: RuleName[] = [];
  for (const rule of rules) {
    if (rule.applyTo === 'failed' && !failed) continue;
    tried.push(rule.name);
    const verdict = rule.checkAsync ? await rule.checkAsync(record) : rule.check(record);
    if (verdict) return { tried, hit: { rule: rule.name, verdict } };
  }
  return { tried, hit: null };
}

function tally(stats: Record<string, RuleStats>, tried: readonly RuleName[], hit: Hit): void {
  for (const name of tried) stats[name]!.checked++;
  if (!hit) return;
  const s = stats[hit.rule]!;
  s.dropped++;
  s.reasons[hit.verdict.reason] = (s.reasons[hit.verdict.reason] ?? 0) + 1;
}

/** Runs the rules over one record, counting what each rule looked at and dropped. */
export function applyRules(rules: readonly FilterRule[], record: PipelineRecord, stats: Record<string, RuleStats>): Hit {
  const failed = isFailed(record);
  const tried: RuleName[] = [];
  let hit: Hit = null;
  for (const rule of rules) {
    if (rule.applyTo === 'failed' && !failed) continue;
    tried.push(rule.name);
    const verdict = rule.check(record);
    if (verdict) {
      hit = { rule: rule.name, verdict };
      break;
    }
  }
  tally(stats, tried, hit);
  return hit;
}

/**
 * The records with their verdicts, in input order. With worker threads, several records are checked at
 * once (their token counting runs in the pool); stats are still counted one record at a time, in order.
 */
async function* judged(ctx: StageContext, rules: readonly FilterRule[], pool: TaskPool, stats: Record<string, RuleStats>): AsyncGenerator<{ record: PipelineRecord; hit: Hit }> {
  if (pool.threads === 0) {
    for await (const record of ctx.records()) yield { record, hit: applyRules(rules, record, stats) };
    return;
  }
  const checked = orderedMap(ctx.records(), async (record) => ({ record, ...(await firstHit(rules, record)) }), {
    window: pool.window,
    name: (record) => `filter: ${record.source.file} record ${record.source.record} (run ${record.id})`,
  });
  for await (const { record, tried, hit } of checked) {
    tally(stats, tried, hit);
    yield { record, hit };
  }
}

export function emptyRuleStats(config: PipelineConfig): Record<string, RuleStats> {
  return Object.fromEntries(
    RULE_NAMES.map((name) => [name, { enabled: config.filter[name].enabled, apply_to: config.filter[name].apply_to, checked: 0, dropped: 0, reasons: {} }]),
  );
}

async function runFilter(ctx: StageContext): Promise<void> {
  const pool = sharedPool(ctx.config.runner.workers);
  // Token counts of earlier runs (same record, same tokenizer): a rerun with other limits re-decides without counting.
  const counts = ctx.config.filter.length.enabled ? await ctx.measurements?.(`length-${LENGTH_COUNTS_VERSION}-${hashValue(ctx.config.tokenizer).slice(0, 12)}`) : undefined;
  const rules = await buildRules(ctx.config, (bench) => ctx.setStat('benchmark_ids', bench.counts), pool, counts);
  const stats = emptyRuleStats(ctx.config);
  ctx.setStat('worker_threads', pool.threads);
  for await (const { record, hit } of judged(ctx, rules, pool, stats)) {
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
  // Reads ingest's records as ingest emits them when both run (no second parse of the corpus).
  streamsUpstream: true,
  // The length limits are counted with the shared tokenizer, so its choice changes this stage's output.
  configSlice: (config) => ({ ...config.filter, tokenizer: config.tokenizer }),
  // The lists' contents, bundled ones included, are fingerprinted: editing one reruns filter.
  dependencyFiles: (config) =>
    config.filter.enabled && config.filter.decontaminate.enabled ? benchmarkSources(config.filter.decontaminate).map((s) => s.file) : [],
  warnings: (config) => [decontaminationWarning(config.filter)].filter((w): w is string => w !== null),
  run: (ctx) => (ctx.config.filter.enabled ? runFilter(ctx) : passThrough(ctx)),
};

import { readFile } from 'node:fs/promises';
import type { Stage, StageContext } from '../../runner/stage.js';
import { hashValue } from '../../core/hash.js';
import { sharedPool } from '../../workers/pool.js';
import { passThrough } from '../passthrough.js';
import { benchmarkSources, decontaminationWarning } from './benchmarks.js';
import { LENGTH_COUNTS_VERSION } from './length.js';
import { buildRules, emptyRuleStats, tally } from './rules.js';

export { applyRules, buildRules, emptyRuleStats, firstHit, type RuleStats } from './rules.js';

async function runFilter(ctx: StageContext): Promise<void> {
  // Token counts of earlier runs (same record, same tokenizer): a rerun with other limits re-decides without counting.
  const counts = ctx.config.filter.length.enabled ? await ctx.measurements?.(`length-${LENGTH_COUNTS_VERSION}-${hashValue(ctx.config.tokenizer).slice(0, 12)}`) : undefined;
  // The lists are loaded here too (their counts go to the manifest, and a missing list fails the stage before any work).
  await buildRules(ctx.config, (bench) => ctx.setStat('benchmark_ids', bench.counts));
  const stats = emptyRuleStats(ctx.config);
  ctx.setStat('worker_threads', sharedPool(ctx.config.runner.workers).threads);
  // Rules are built once per thread and config; the lists' contents are part of that key (a list edited in place).
  const lists = ctx.config.filter.decontaminate.enabled ? benchmarkSources(ctx.config.filter.decontaminate).map((s) => s.file) : [];
  const rulesKey = hashValue(await Promise.all(lists.map((f) => readFile(f, 'utf8').catch(() => ''))));
  const settings = { filter: ctx.config.filter, tokenizer: ctx.config.tokenizer, rulesKey };
  // Every rule runs where the record is parsed, in a worker: this thread sees the verdict and a few fields.
  const checked = ctx.mapRecords({
    fields: ['id', 'task_id', 'source', 'outcome'],
    task: 'filter.check',
    input: (id) => ({ ...settings, known: id === null ? undefined : counts?.get(id) }),
  });
  for await (const { record, result } of checked) {
    if (result.counted !== undefined) counts?.set(record.id, result.counted);
    const { tried, hit } = result;
    tally(stats, tried, hit);
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
  ctx.setStat('rule_order', (await buildRules(ctx.config)).map((r) => r.name));
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

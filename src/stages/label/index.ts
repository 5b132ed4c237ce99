import { dirname } from 'node:path';
import type { PipelineConfig, PipelineRecord, StepValues } from '../../../schemas/index.js';
import type { Stage, StageContext } from '../../runner/stage.js';
import { StageStopped } from '../../core/errors.js';
import { costOf } from '../../teacher/accounting.js';
import { type LabelResult, type PreparedRun } from '../../teacher/labeler.js';
import { HEURISTIC_VERDICT_VERSION, HEURISTIC_VERSION, heuristicValues } from './heuristic.js';
import { anomalyFlags } from './anomalies.js';
import { OrderedWindow, type Settled } from './ordered.js';
import { runBatchPhase } from './batch-phase.js';
import type { AnswerSource } from '../../teacher/requester.js';
import { LabelQuality, chosenForCalibration, compareTeachers, samplesRankCorrelation } from './quality.js';
import { resolveCacheDir, setUpSecondTeacher, setUpTeacher, type TeacherSetup } from './teacher.js';
import { calibrates, labelsUnknownOutcome, wantsCurve, wantsVerdicts } from './choice.js';
import { offlineValues, type OfflineItem } from './offline.js';

export { wantsVerdicts } from './choice.js';

/**
 * What the labels depend on. The endpoint, the key's variable, the cache folder and the limits (speed,
 * retries, prices, caps) are left out: they change how fast or how expensively labels arrive, not what they
 * are, so changing them does not make the stage out of date.
 */
export function labelConfigSlice(config: PipelineConfig): unknown {
  const l = config.label;
  if (!l.enabled) return { enabled: false };
  // Which runs get a curve depends on segment.unknown_outcome; added only when set, so other fingerprints stay put.
  const unknown = labelsUnknownOutcome(config) ? { unknown_outcome: 'as-failed' } : {};
  // Issue 13's additions enter the slice only when used, so a pipeline that uses none keeps its fingerprint.
  const verdicts = wantsVerdicts(config) ? { verdicts: l.teacher.base_url ? l.teacher.verdict_prompt_version : HEURISTIC_VERDICT_VERSION } : {};
  const calibration = l.calibration.resolved_share > 0 ? { calibration: l.calibration } : {};
  const second = l.second_teacher
    ? { second_teacher: { model: l.second_teacher.model, span_rule: { smoothing_window: config.segment.smoothing_window, strict: config.segment.strict } } }
    : {};
  const extra = { ...unknown, ...verdicts, ...calibration, ...second };
  if (!l.teacher.base_url) return { enabled: true, labeler: 'heuristic', version: HEURISTIC_VERSION, ...extra };
  const { base_url: _url, api_key_env: _env, verdict_prompt_version: _v, ...teacher } = l.teacher;
  return { enabled: true, labeler: 'teacher', teacher: { ...teacher, tokenizer: teacher.tokenizer ?? config.tokenizer }, ...extra };
}

/** What label does with one run, and the run (whole, or the fields it reads of one labelled in the pool). */
interface Item extends OfflineItem {
  record: RunFields;
}

type RunFields = Pick<PipelineRecord, 'id' | 'task_id' | 'source' | 'outcome'>;

function where(r: RunFields): string {
  return `run ${r.id} (${r.source.file} record ${r.source.record})`;
}

export const labelStage: Stage = {
  name: 'label',
  summary: 'Estimates, per agent step, the hindsight probability that a failed run would still succeed.',
  // 2: anomaly flags (curve-never-falls, curve-constant, planted-instruction, ...) and stats.quality.
  version: '2',
  streamsUpstream: true,
  configSlice: labelConfigSlice,
  cacheDirs: (config, outDir) => [resolveCacheDir(config.label.cache_dir, outDir)],
  dependencyFiles: (config) => (config.label.teacher.base_url && config.label.teacher.instructions_file ? [config.label.teacher.instructions_file] : []),
  run: runLabel,
};

async function runLabel(ctx: StageContext): Promise<void> {
  const cfg = ctx.config.label;
  // The stage writes into <out>/.label.partial-*, so its parent is the run's output folder.
  const teacher = cfg.enabled && cfg.teacher.base_url ? await setUpTeacher(ctx.config, dirname(ctx.dir)) : null;
  if (teacher && !teacher.haveKey) ctx.log.warn(`label: $${cfg.teacher.api_key_env} is not set; requests carry a placeholder key (enough for a local vLLM or SGLang server).`);
  if (ctx.options.dryRun && cfg.enabled) await dryRun(ctx, teacher);

  const second = await setUpSecondTeacher(ctx.config, dirname(ctx.dir));
  const verdicts = wantsVerdicts(ctx.config);
  const quality = new LabelQuality();

  if (!teacher && !second) {
    // Offline: each run is labelled where it is parsed, in the worker pool; this thread counts and passes it on.
    const input = { config: { label: ctx.config.label, segment: ctx.config.segment } };
    for await (const { record, result } of ctx.mapRecords({ fields: ['id', 'task_id', 'source', 'outcome'], task: 'label.offline', input: () => input })) {
      await output(ctx, { record, ...result }, quality);
    }
    ctx.setStat('labeler', cfg.enabled ? 'heuristic' : 'disabled');
    ctx.setStat('prompt_version', cfg.enabled ? HEURISTIC_VERSION : null);
    if (cfg.enabled) ctx.setStat('quality', quality.toJSON());
    return;
  }

  /** The first teacher's values (and verdicts) of one run, or the heuristic's; anomalies and agreement added. */
  const valuesOf = async (record: PipelineRecord, withVerdicts: boolean, source: AnswerSource | undefined): Promise<LabelResult> => {
    let prepared: PreparedRun | null = null;
    let result: LabelResult;
    if (!teacher) {
      result = offlineValues(record, withVerdicts);
    } else {
      const p = teacher.labeler.prepare(record, { verdicts: withVerdicts });
      if ('tooLong' in p) {
        return {
          kind: 'rejected',
          reason: 'too-long-for-teacher',
          message: `even compacted, the prompt needs ~${p.tooLong} tokens, over label.teacher.max_prompt_tokens = ${cfg.teacher.max_prompt_tokens}`,
          details: { prompt_tokens: p.tooLong, steps: record.steps.length },
        };
      }
      prepared = p;
      result = await teacher.labeler.label(prepared, source ?? teacher.requester);
    }
    if (result.kind !== 'labelled') return result;
    const v = result.values;
    if (!prepared) {
      // The heuristic's values carry their flags already (offlineValues); a second teacher may still compare.
      if (!second || record.outcome.resolved === true) return result;
      const agreement = await agreementOf(record, v.values, null);
      return { kind: 'labelled', values: { ...v, agreement, flags: agreement.values ? v.flags : [...v.flags, 'second-teacher-no-answer'] } };
    }
    const extra: Partial<StepValues> = {};
    if (v.samples) extra.samples_rank_correlation = samplesRankCorrelation(v.samples);
    if (second && record.outcome.resolved !== true) extra.agreement = await agreementOf(record, v.values, prepared);
    const flags = [...v.flags, ...anomalyFlags(record, v.values)];
    if (extra.agreement && !extra.agreement.values) flags.push('second-teacher-no-answer');
    return { kind: 'labelled', values: { ...v, ...extra, flags } };
  };

  /** The second teacher's curve for the run beside the first's (its failures only flag the run). */
  const agreementOf = async (record: PipelineRecord, first: number[], prepared: PreparedRun | null) => {
    const s = second!;
    // The same rendered request (same instructions and budget), sent to the other model.
    const run = prepared ?? s.labeler.prepare(record);
    const answer = 'tooLong' in run ? null : await s.labeler.labelValues(run, s.requester);
    const values = answer?.kind === 'labelled' ? answer.values.values : null;
    return compareTeachers(record, first, values, s.labeler.model, ctx.config.segment);
  };

  // `source`: the requester (cache, then live), or the batch phase's collector.
  const labelOne = async (record: PipelineRecord, source: AnswerSource | undefined = teacher?.requester): Promise<Item> => {
    if (!cfg.enabled) return { record, result: null, passReason: 'label-disabled' };
    if (calibrates(record, ctx.config) && record.steps.length > 0) {
      // Labelled to measure, passed on unlabelled: the run is trained whole exactly as before.
      const r = await valuesOf(record, false, source);
      return { record, result: null, passReason: 'resolved', calibration: r.kind === 'labelled' ? { values: r.values.values } : { rejected: r.reason } };
    }
    if (!wantsCurve(record, ctx.config)) return { record, result: null, passReason: record.outcome.resolved ? 'resolved' : 'no-outcome-label' };
    if (record.steps.length === 0) {
      const what = record.outcome.resolved === null ? 'the run (outcome unknown, labelled because segment.unknown_outcome is as-failed)' : 'the failed run';
      return { record, result: { kind: 'rejected', reason: 'no-steps', message: `${what} has no agent step to label` } };
    }
    return { record, result: await valuesOf(record, verdicts, source) };
  };
  if (teacher?.batcher && cfg.enabled) await runBatchPhase(ctx, teacher, labelOne);

  const progress = new LabelProgress(ctx, teacher);
  const window = new OrderedWindow<Item>(teacher ? cfg.limits.concurrency * 4 : 1);
  const handle = async (settled: Settled<Item>[]): Promise<void> => {
    for (const s of settled) {
      if (!s.ok) {
        // Stop sending, let answers already on their way land in the cache, then end the stage.
        const why = s.error instanceof Error ? s.error.message : String(s.error);
        teacher?.requester.stop(why);
        second?.requester.stop(why);
        await window.abandon();
        throw teacher?.requester.fatal ?? second?.requester.fatal ?? s.error;
      }
      await output(ctx, s.value, quality);
      progress.tick();
    }
  };
  for await (const record of ctx.records()) {
    await handle(await window.push(() => labelOne(record)));
    await handle(await window.drainReady());
  }
  await handle(await window.drain());

  ctx.setStat('labeler', !cfg.enabled ? 'disabled' : teacher ? 'teacher' : 'heuristic');
  ctx.setStat('prompt_version', !cfg.enabled ? null : teacher ? cfg.teacher.prompt_version : HEURISTIC_VERSION);
  if (teacher) {
    ctx.setStat('model', cfg.teacher.model);
    ctx.setStat('teacher', teacher.accounts.toJSON());
    ctx.setStat('cache', { dir: teacher.cache.dir, corrupt_entries_ignored: teacher.cache.corrupt });
  }
  if (second) ctx.setStat('second_teacher', { model: second.labeler.model, ...second.accounts.toJSON() });
  if (cfg.enabled) ctx.setStat('quality', quality.toJSON());
  progress.finish();
}

async function output(ctx: StageContext, item: Item, quality: LabelQuality): Promise<void> {
  const { record, result } = item;
  if (result === null) {
    ctx.count('runs', item.passReason ?? 'passed-through');
    if (item.calibration && 'values' in item.calibration) {
      ctx.count('calibration', 'labelled');
      quality.addFinal(record, item.calibration.values);
    } else if (item.calibration) {
      ctx.count('calibration', item.calibration.rejected);
    }
    await ctx.emit({ ...record, ...(item.then ?? { values: null }) });
    return;
  }
  if (result.kind === 'rejected') {
    ctx.count('runs', 'rejected');
    await ctx.reject({
      reason: result.reason,
      message: `Cannot label ${where(record)}: ${result.message}`,
      id: record.id,
      task_id: record.task_id,
      file: record.source.file,
      record: record.source.record,
      ...(result.details ? { details: result.details } : {}),
    });
    return;
  }
  ctx.count('runs', 'labelled');
  ctx.count('labelled_by_outcome', record.outcome.resolved === null ? 'unknown' : 'failed');
  for (const flag of result.values.flags) ctx.count('flags', flag);
  quality.add(record, result.values);
  // The same object the per-record function said it adds (its answers for the next stages then stand).
  await ctx.emit({ ...record, ...(item.then ?? { values: result.values }) });
}

/** Prints what labelling would send and cost, then stops before the first request. */
async function dryRun(ctx: StageContext, teacher: TeacherSetup | null): Promise<never> {
  let eligible = 0;
  if (!teacher) {
    for await (const r of ctx.records({ count: false })) if (wantsCurve(r, ctx.config) && r.steps.length) eligible++;
    throw new StageStopped(`dry run: ${eligible} failed run(s) would be labelled by the heuristic labeler, offline: 0 requests, no cost`);
  }
  let requests = 0;
  let cached = 0;
  let tooLong = 0;
  let promptTokens = 0;
  let completionTokens = 0;
  for await (const r of ctx.records({ count: false })) {
    const calibration = calibrates(r, ctx.config);
    if ((!wantsCurve(r, ctx.config) && !calibration) || r.steps.length === 0) continue;
    eligible++;
    const prepared = teacher.labeler.prepare(r, { verdicts: !calibration && wantsVerdicts(ctx.config) });
    if ('tooLong' in prepared) {
      tooLong++;
      continue;
    }
    for (const { plan } of teacher.labeler.firstPlans(prepared)) {
      if ((await teacher.cache.get(plan.key)) !== null) {
        cached++;
        continue;
      }
      requests++;
      promptTokens += prepared.promptTokens;
      completionTokens += plan.expectedTokens - prepared.promptTokens;
    }
  }
  const prices = teacher.accounts.prices;
  // In batch mode the requests go out as batches first: priced at the batch price.
  const batch = ctx.config.label.mode === 'batch';
  const cost = costOf(prices, promptTokens, completionTokens) * (batch ? teacher.accounts.batchPriceFactor : 1);
  const priced =
    prices.promptPerMTok || prices.completionPerMTok
      ? `~$${cost.toFixed(4)}${batch ? ` at the batch price (label.limits.batch_price_factor = ${teacher.accounts.batchPriceFactor}; what a batch does not answer costs the live price)` : ''}`
      : 'no price set (label.limits.price_*_per_mtok)';
  throw new StageStopped(
    `dry run: ${requests} request(s) to send for ${eligible} failed run(s) (${cached} already answered in the cache, ${tooLong} too long for the teacher), ` +
      `~${promptTokens} prompt + ~${completionTokens} completion tokens, estimated cost ${priced}`,
  );
}

/** The teacher's accounts on a line every few seconds: runs done, requests, tokens, cost, rate, time left. */
class LabelProgress {
  private done = 0;
  private readonly started = Date.now();
  private last = Date.now();
  private readonly total: number | null;

  constructor(
    private readonly ctx: StageContext,
    private readonly teacher: TeacherSetup | null,
    private readonly intervalMs = 10_000,
  ) {
    this.total = ctx.upstream?.records_out ?? null;
  }

  private line(): string {
    const secs = Math.max((Date.now() - this.started) / 1000, 1e-3);
    const rate = this.done / secs;
    const left = this.total && rate > 0 ? `, ~${Math.ceil((this.total - this.done) / rate)}s left` : '';
    const accounts = this.teacher ? `; ${this.teacher.accounts.summary()}` : '';
    return `[label] ${this.done}${this.total ? `/${this.total}` : ''} runs${accounts}; ${rate.toFixed(1)} runs/s${left}`;
  }

  tick(): void {
    this.done++;
    if (!this.teacher || Date.now() - this.last < this.intervalMs) return;
    this.last = Date.now();
    this.ctx.log.info(this.line());
  }

  finish(): void {
    if (this.teacher) this.ctx.log.info(this.line());
  }
}

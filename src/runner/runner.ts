import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StageManifest, SCHEMA_VERSION, STAGE_ORDER, type PipelineConfig, type StageName } from '../../schemas/index.js';
import { hashValue } from '../core/hash.js';
import { StageStopped, UserError } from '../core/errors.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { RunningStage } from './context.js';
import { fingerprintDependencies, fingerprintInputFiles } from './fingerprint.js';
import { acquireLock } from './lock.js';
import { removeCacheLeftovers, removeRunLeftovers } from './cleanup.js';
import { stageWriteError } from './errors.js';
import { createProgress } from './progress.js';
import { codeVersion } from './version.js';
import type { Logger } from './log.js';
import type { RunOptions, Stage } from './stage.js';

export interface RunRequest {
  config: PipelineConfig;
  stages: readonly Stage[];
  outDir: string;
  inputFiles: string[];
  from?: StageName | undefined;
  only?: StageName | undefined;
  /** Stop after this stage (a sharded run: up to filter for the dedup map, up to export before the gather). */
  until?: StageName | undefined;
  /**
   * Stages whose outputs live elsewhere (a sharded run's gather: ingest..segment are in the shards): passed over,
   * and the stage after them is taken as it is. Only with `from`; no stage run may read them.
   */
  absent?: readonly StageName[] | undefined;
  force?: boolean;
  options: RunOptions;
  log: Logger;
  /** Kept up to date while the run goes, for the message of an interrupted run. */
  status?: RunStatus;
}

/** Which stages of this run are complete in the output folder, and which one is being written. */
export class RunStatus {
  current: StageName | null = null;
  /** The temporary folder the current stage writes into, if it runs (not when it is up to date). */
  partial: string | null = null;
  readonly complete: StageName[] = [];
  begin(stage: StageName): void {
    this.current = stage;
  }
  finish(stage: StageName): void {
    this.complete.push(stage);
    this.current = null;
    this.partial = null;
  }
}

export type StageOutcome =
  | { stage: StageName; status: 'ran'; manifest: StageManifest }
  | { stage: StageName; status: 'skipped'; manifest: StageManifest; reason: string }
  | { stage: StageName; status: 'stopped'; reason: string };

export async function readManifest(stageDir: string): Promise<StageManifest | null> {
  const text = await readFile(join(stageDir, 'manifest.json'), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = StageManifest.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function describeDropped(dropped: Record<string, number>): string {
  const parts = Object.entries(dropped).map(([k, v]) => `${k}: ${v}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export async function stageFingerprint(
  stage: Stage,
  config: PipelineConfig,
  inputFingerprint: string,
  upstreamRejects: readonly [string, Record<string, number>][] = [],
): Promise<{ fingerprint: string; configHash: string }> {
  const deps = stage.dependencyFiles?.(config) ?? [];
  const configHash = hashValue({
    config: stage.configSlice(config),
    dependencies: deps.length ? await fingerprintDependencies(stage.name, deps) : null,
  });
  const fingerprint = hashValue({
    inputFingerprint,
    configHash,
    stage: stage.name,
    version: stage.version,
    schema: SCHEMA_VERSION,
    ...(stage.reportsUpstreamRejects ? { upstreamRejects } : {}),
  });
  return { fingerprint, configHash };
}

export interface StageFolder {
  manifest: StageManifest;
  dir: string;
}

/**
 * A stage's input fingerprint: the upstream stage's output for a stage that streams its records; the
 * manifests of the stages it declares in `readsStages` for one that reads earlier folders instead.
 */
export function readInputFingerprint(stage: Stage, upstream: StageManifest | null, seen: ReadonlyMap<StageName, StageFolder>): string | null {
  if (!stage.readsStages) return upstream ? upstream.output_fingerprint : null;
  return hashValue(
    stage.readsStages.map((name) => {
      const m = seen.get(name)?.manifest;
      if (!m) throw new UserError(`The ${stage.name} stage reads the ${name} stage, which has no complete output; run without --from/--only first.`);
      return [name, m.output_fingerprint, m.fingerprint];
    }),
  );
}

/** Runs the pipeline's stages in order, skipping those whose fingerprint is unchanged. */
export async function runPipeline(req: RunRequest): Promise<StageOutcome[]> {
  const { config, outDir, log } = req;
  const order = req.stages.map((s) => s.name);
  if (order.join() !== STAGE_ORDER.join()) throw new Error(`stage registry out of order: ${order.join()}`);
  const pick = req.only ?? req.from;
  const startAt = pick ? order.indexOf(pick) : 0;
  const endAt = req.only ? startAt : req.until ? order.indexOf(req.until) : order.length - 1;

  for (const stage of req.stages) for (const w of stage.warnings?.(config) ?? []) log.warn(w);

  const release = await acquireLock(outDir);
  const outcomes: StageOutcome[] = [];
  try {
    // Leftovers of killed runs are never trusted; they go before any stage, up to date or not.
    const leftovers = await removeRunLeftovers(outDir);
    if (leftovers.length) log.info(`trajpipe: removed ${leftovers.length} leftover(s) of an interrupted run in ${outDir}: ${leftovers.join(', ')}`);
    let upstream: StageManifest | null = null;
    let upstreamDir: string | null = null;
    /** Every stage folder before the current one that is complete, for stages that read more than their upstream. */
    const seen = new Map<StageName, StageFolder>();
    const upstreamRejects: [string, Record<string, number>][] = [];
    for (let i = 0; i <= endAt; i++) {
      if (upstream) {
        upstreamRejects.push([upstream.stage, upstream.dropped]);
        seen.set(upstream.stage, { manifest: upstream, dir: upstreamDir! });
      }
      const stage = req.stages[i]!;
      if (req.absent?.includes(stage.name)) continue;
      const stageDir = join(outDir, stage.name);
      const cacheLeftovers = await removeCacheLeftovers(stage.cacheDirs?.(config, outDir) ?? []);
      if (cacheLeftovers) log.info(`${stage.name.padEnd(8)} removed ${cacheLeftovers} temporary file(s) that interrupted runs left in its cache`);
      req.status?.begin(stage.name);
      const existing = await readManifest(stageDir);
      const inputFingerprint =
        readInputFingerprint(stage, upstream, seen) ??
        (await fingerprintInputFiles([...req.inputFiles, ...((await stage.extraInputFiles?.(config, req.inputFiles)) ?? [])]));
      const { fingerprint, configHash } = await stageFingerprint(stage, config, inputFingerprint, upstreamRejects);

      if (i < startAt) {
        // Before the requested stage: its existing output is used as it is.
        if (!existing) {
          throw new UserError(`Cannot start at ${pick}: the ${stage.name} stage has no complete output in ${outDir}; run without --from/--only first.`);
        }
        if (existing.fingerprint !== fingerprint && !req.absent) log.warn(`${stage.name} output in ${outDir} is out of date with the config; using it anyway because of --${req.only ? 'only' : 'from'}.`);
        upstream = existing;
        upstreamDir = stageDir;
        req.status?.finish(stage.name);
        continue;
      }

      const forced = req.force || (req.from !== undefined && !req.only);
      if (!forced && existing && existing.fingerprint === fingerprint) {
        log.info(`${stage.name.padEnd(8)} up to date, skipped (${existing.records_out} records)`);
        outcomes.push({ stage: stage.name, status: 'skipped', manifest: existing, reason: 'fingerprint unchanged' });
        upstream = existing;
        upstreamDir = stageDir;
        req.status?.finish(stage.name);
        continue;
      }

      let manifest: StageManifest;
      try {
        manifest = await runStage(req, stage, { stageDir, upstream, upstreamDir, seen, inputFingerprint, fingerprint, configHash });
      } catch (err) {
        if (!(err instanceof StageStopped)) throw err;
        outcomes.push({ stage: stage.name, status: 'stopped', reason: err.reason });
        return outcomes;
      }
      outcomes.push({ stage: stage.name, status: 'ran', manifest });
      req.status?.finish(stage.name);
      upstream = manifest;
      upstreamDir = stageDir;
    }
    return outcomes;
  } finally {
    await release();
  }
}

interface StagePlan {
  stageDir: string;
  upstream: StageManifest | null;
  upstreamDir: string | null;
  seen: ReadonlyMap<StageName, StageFolder>;
  inputFingerprint: string;
  fingerprint: string;
  configHash: string;
}

async function runStage(req: RunRequest, stage: Stage, plan: StagePlan): Promise<StageManifest> {
  const { outDir, config, log } = req;
  const partial = join(outDir, `.${stage.name}.partial-${process.pid}`);
  if (req.status) req.status.partial = partial;
  let ctx: RunningStage | null = null;
  let manifest: StageManifest;
  let droppedTotal = 0;
  try {
    await mkdir(partial, { recursive: true });
    ctx = new RunningStage({
      name: stage.name,
      config,
      options: req.options,
      dir: partial,
      inputFiles: req.inputFiles,
      upstream: plan.upstream,
      upstreamDir: plan.upstreamDir,
      reads: new Map((stage.readsStages ?? []).map((n) => [n, plan.seen.get(n)!])),
      log,
      progress: createProgress({ stage: stage.name, total: plan.upstream?.records_out ?? null, quiet: req.options.quiet }),
    });
    manifest = await runIntoPartial(stage, ctx, config, plan, partial);
    droppedTotal = ctx.droppedTotal;
  } catch (err) {
    // Nothing of a failed stage is kept (a full disk also gets its space back); the rerun redoes it.
    await ctx?.abort().catch(() => undefined);
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof StageStopped) log.info(`${stage.name.padEnd(8)} stopped: ${err.reason}`);
    throw stageWriteError(err, stage.name, partial);
  }
  const old = join(outDir, `.${stage.name}.old-${process.pid}`);
  await rename(plan.stageDir, old).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await rename(partial, plan.stageDir);
  await rm(old, { recursive: true, force: true });

  log.info(
    `${stage.name.padEnd(8)} ${manifest.records_in} in -> ${manifest.records_out} out, ${droppedTotal} dropped${describeDropped(manifest.dropped)} in ${manifest.timings.seconds.toFixed(1)}s`,
  );
  return manifest;
}

/** Runs the stage into its temporary folder and writes the manifest there last (the completion marker). */
async function runIntoPartial(stage: Stage, ctx: RunningStage, config: PipelineConfig, plan: StagePlan, partial: string): Promise<StageManifest> {
  const started = new Date();
  await stage.run(ctx);
  const outputs = await ctx.finish();

  const dropped = Object.fromEntries(Object.entries(ctx.dropped).sort(([a], [b]) => a.localeCompare(b)));
  if (ctx.recordsIn !== ctx.recordsOut + ctx.droppedTotal) {
    throw new Error(
      `${stage.name} lost track of records: ${ctx.recordsIn} in but ${ctx.recordsOut} out + ${ctx.droppedTotal} dropped. This is a bug in the stage.`,
    );
  }
  const finished = new Date();
  const manifest: StageManifest = {
    stage: stage.name,
    schema_version: SCHEMA_VERSION,
    code_version: codeVersion(),
    fingerprint: plan.fingerprint,
    input_fingerprint: plan.inputFingerprint,
    config_hash: plan.configHash,
    config: stage.configSlice(config) ?? null,
    records_in: ctx.recordsIn,
    records_out: ctx.recordsOut,
    dropped,
    output_fingerprint: hashValue(outputs.map((o) => [o.path, o.sha256])),
    outputs,
    stats: ctx.stats,
    timings: {
      started_at: started.toISOString(),
      finished_at: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
    },
  };
  await writeJsonAtomic(join(partial, 'manifest.json'), manifest);
  return manifest;
}

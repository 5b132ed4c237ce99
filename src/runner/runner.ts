import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StageManifest, SCHEMA_VERSION, STAGE_ORDER, type PipelineConfig, type StageName } from '../../schemas/index.js';
import { hashValue } from '../core/hash.js';
import { StageStopped, UserError } from '../core/errors.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { RunningStage } from './context.js';
import { RecordChannel, UpstreamFailed } from './channel.js';
import { fingerprintDependencies, fingerprintInputFiles } from './fingerprint.js';
import { acquireLock } from './lock.js';
import { removeCacheLeftovers, removeRunLeftovers } from './cleanup.js';
import { stageWriteError } from './errors.js';
import { createProgress } from './progress.js';
import { codeVersion } from './version.js';
import { readManifest } from './manifest.js';

export { readManifest };
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

/** Which stages of this run are complete in the output folder, and which ones are being written. */
export class RunStatus {
  /** Stages being checked or written, in pipeline order (several when stages run side by side). */
  private readonly running: { stage: StageName; partial: string | null }[] = [];
  readonly complete: StageName[] = [];
  /** The first stage not complete yet. */
  get current(): StageName | null {
    return this.running[0]?.stage ?? null;
  }
  /** The temporary folder the current stage writes into, if it runs (not when it is up to date). */
  get partial(): string | null {
    return this.running[0]?.partial ?? null;
  }
  /** Every temporary folder being written (an interrupt deletes them all). */
  get partials(): string[] {
    return this.running.map((r) => r.partial).filter((p): p is string => p !== null);
  }
  begin(stage: StageName): void {
    if (!this.running.some((r) => r.stage === stage)) this.running.push({ stage, partial: null });
  }
  writing(stage: StageName, partial: string): void {
    const r = this.running.find((x) => x.stage === stage);
    if (r) r.partial = partial;
    else this.running.push({ stage, partial });
  }
  finish(stage: StageName): void {
    if (!this.complete.includes(stage)) this.complete.push(stage);
    this.end(stage);
  }
  /** The stage is no longer written (finished, failed or abandoned). */
  end(stage: StageName): void {
    const i = this.running.findIndex((r) => r.stage === stage);
    if (i !== -1) this.running.splice(i, 1);
  }
}

export type StageOutcome =
  | { stage: StageName; status: 'ran'; manifest: StageManifest }
  | { stage: StageName; status: 'skipped'; manifest: StageManifest; reason: string }
  | { stage: StageName; status: 'stopped'; reason: string };

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
    const completed = (m: StageManifest, dir: string): void => {
      upstream = m;
      upstreamDir = dir;
      upstreamRejects.push([m.stage, m.dropped]);
      seen.set(m.stage, { manifest: m, dir });
      req.status?.finish(m.stage);
    };
    const forced = req.force || (req.from !== undefined && !req.only);
    for (let i = 0; i <= endAt; ) {
      const stage = req.stages[i]!;
      if (req.absent?.includes(stage.name)) {
        i++;
        continue;
      }
      const stageDir = join(outDir, stage.name);
      await removeStageCacheLeftovers(req, stage);
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
        completed(existing, stageDir);
        i++;
        continue;
      }

      if (!forced && existing && existing.fingerprint === fingerprint) {
        log.info(`${stage.name.padEnd(8)} up to date, skipped (${existing.records_out} records)`);
        outcomes.push({ stage: stage.name, status: 'skipped', manifest: existing, reason: 'fingerprint unchanged' });
        completed(existing, stageDir);
        i++;
        continue;
      }

      // This stage runs. The stages after it that stream their upstream and must run whatever it
      // produces (no output yet, another config or version, or forced) run beside it in this process.
      const group: Stage[] = [stage];
      while (i + group.length <= endAt) {
        const next = req.stages[i + group.length]!;
        if (!next.streamsUpstream || !(await mustRunAnyway(next, config, await readManifest(join(outDir, next.name)), forced))) break;
        await removeStageCacheLeftovers(req, next);
        req.status?.begin(next.name);
        group.push(next);
      }
      const first: StagePlan = { stageDir, upstream, upstreamDir, seen, plan: async () => ({ inputFingerprint, fingerprint, configHash }) };
      const settled = await runGroup(req, group, first, upstreamRejects);
      for (const [k, r] of settled.entries()) {
        const s = group[k]!;
        if (r.status === 'fulfilled') {
          outcomes.push({ stage: s.name, status: 'ran', manifest: r.value });
          completed(r.value, join(outDir, s.name));
          continue;
        }
        const err = r.reason as unknown;
        if (err instanceof StageStopped) {
          outcomes.push({ stage: s.name, status: 'stopped', reason: err.reason });
          return outcomes;
        }
        throw err;
      }
      i += group.length;
    }
    return outcomes;
  } finally {
    await release();
  }
}

async function removeStageCacheLeftovers(req: RunRequest, stage: Stage): Promise<void> {
  const n = await removeCacheLeftovers(stage.cacheDirs?.(req.config, req.outDir) ?? []);
  if (n) req.log.info(`${stage.name.padEnd(8)} removed ${n} temporary file(s) that interrupted runs left in its cache`);
}

/**
 * Whether a stage must run whatever its upstream (still to run) produces: forced, no complete output, or
 * output of another config, version or schema. Otherwise it may turn out up to date once its upstream has
 * finished identically, so it waits for that instead of running beside it.
 */
async function mustRunAnyway(stage: Stage, config: PipelineConfig, existing: StageManifest | null, forced: boolean): Promise<boolean> {
  if (forced || !existing) return true;
  const { fingerprint, configHash } = await stageFingerprint(stage, config, existing.input_fingerprint);
  if (configHash !== existing.config_hash) return true;
  // Its fingerprint also covers the upstream stages' rejects, unknown until they ran: let it wait.
  if (stage.reportsUpstreamRejects) return false;
  return fingerprint !== existing.fingerprint;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // a consumer that never asks must not make it an unhandled rejection
  return { promise, resolve, reject };
}

/**
 * Runs stages side by side, each handing its records to the next through a bounded channel. Each still
 * writes its own folder, completes (manifest, rename) in order, and computes its fingerprint once its
 * upstream is complete. A stage that fails or stops fails the ones after it (their folders are not kept);
 * the ones before it complete as usual.
 */
async function runGroup(
  req: RunRequest,
  group: readonly Stage[],
  first: StagePlan,
  rejectsBefore: readonly [string, Record<string, number>][],
): Promise<PromiseSettledResult<StageManifest>[]> {
  const channels = group.slice(1).map(() => new RecordChannel());
  channels.forEach((c, k) => (c.next = channels[k + 1] ?? null));
  const dones = group.map(() => deferred<StageFolder>());
  const runs = group.map(async (stage, k) => {
    const stageDir = join(req.outDir, stage.name);
    const feedChannel = k > 0 ? channels[k - 1]! : null;
    const plan: StagePlan =
      k === 0
        ? first
        : {
            stageDir,
            upstream: null,
            upstreamDir: null,
            seen: first.seen,
            feed: { channel: feedChannel!, done: dones[k - 1]!.promise },
            plan: async () => {
              // Every stage before this one in the group is complete once its upstream is.
              const before = await Promise.all(dones.slice(0, k).map((d) => d.promise));
              const seen = new Map(first.seen);
              for (const f of before) seen.set(f.manifest.stage, f);
              const rejects = [...rejectsBefore, ...before.map((f): [string, Record<string, number>] => [f.manifest.stage, f.manifest.dropped])];
              const inputFingerprint = readInputFingerprint(stage, before[before.length - 1]!.manifest, seen)!;
              return { inputFingerprint, ...(await stageFingerprint(stage, req.config, inputFingerprint, rejects)) };
            },
          };
    if (k < group.length - 1) plan.downstream = channels[k]!;
    try {
      const manifest = await runStage(req, stage, plan);
      req.status?.finish(stage.name);
      dones[k]!.resolve({ manifest, dir: stageDir });
      return manifest;
    } catch (err) {
      channels[k]?.fail(stage.name);
      dones[k]!.reject(new UpstreamFailed(stage.name));
      req.status?.end(stage.name);
      throw err;
    } finally {
      // Done reading: the upstream never waits for this stage again.
      feedChannel?.detach();
    }
  });
  return Promise.allSettled(runs);
}

interface StagePlan {
  stageDir: string;
  upstream: StageManifest | null;
  upstreamDir: string | null;
  seen: ReadonlyMap<StageName, StageFolder>;
  /** The stage's fingerprints; for a stage running beside its upstream, known once the upstream is complete. */
  plan: () => Promise<{ inputFingerprint: string; fingerprint: string; configHash: string }>;
  feed?: { channel: RecordChannel; done: Promise<StageFolder> };
  downstream?: RecordChannel;
}

async function runStage(req: RunRequest, stage: Stage, plan: StagePlan): Promise<StageManifest> {
  const { outDir, config, log } = req;
  const partial = join(outDir, `.${stage.name}.partial-${process.pid}`);
  req.status?.writing(stage.name, partial);
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
      ...(plan.feed ? { feed: plan.feed } : {}),
      ...(plan.downstream ? { downstream: plan.downstream } : {}),
      reads: new Map((stage.readsStages ?? []).map((n) => [n, plan.seen.get(n)!])),
      log,
      progress: createProgress({ stage: stage.name, total: plan.upstream?.records_out ?? null, quiet: req.options.quiet }),
    });
    manifest = await runIntoPartial(req, stage, ctx, plan, partial);
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
async function runIntoPartial(req: RunRequest, stage: Stage, ctx: RunningStage, plan: StagePlan, partial: string): Promise<StageManifest> {
  const { config } = req;
  const started = new Date();
  await stage.run(ctx);
  const outputs = await ctx.finish();
  // A stage beside its upstream: its input (and so its fingerprint) is known once the upstream is complete.
  await ctx.upstreamComplete();
  const { fingerprint, inputFingerprint, configHash } = await plan.plan();

  const dropped = Object.fromEntries(Object.entries(ctx.dropped).sort(([a], [b]) => a.localeCompare(b)));
  if (ctx.recordsIn !== ctx.recordsOut + ctx.droppedTotal) {
    throw new Error(
      `${stage.name} lost track of records: ${ctx.recordsIn} in but ${ctx.recordsOut} out + ${ctx.droppedTotal} dropped. This is a bug in the stage.`,
    );
  }
  // Reference lines point into earlier stages' parts: their outputs are part of this stage's output.
  const references: Record<string, string> = {};
  for (const name of ctx.referencedStages) {
    const m = await readManifest(join(req.outDir, name));
    if (!m) throw new Error(`${stage.name} wrote references to the ${name} stage, which has no complete output. This is a bug in the frame.`);
    references[name] = m.output_fingerprint;
  }
  const finished = new Date();
  const manifest: StageManifest = {
    stage: stage.name,
    schema_version: SCHEMA_VERSION,
    code_version: codeVersion(),
    fingerprint,
    input_fingerprint: inputFingerprint,
    config_hash: configHash,
    config: stage.configSlice(config) ?? null,
    records_in: ctx.recordsIn,
    records_out: ctx.recordsOut,
    dropped,
    output_fingerprint: hashValue(Object.keys(references).length ? { outputs: outputs.map((o) => [o.path, o.sha256]), references } : outputs.map((o) => [o.path, o.sha256])),
    ...(Object.keys(references).length ? { references } : {}),
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

import { readdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { DedupMapManifest, PipelineConfig } from '../../schemas/index.js';
import { UsageError } from '../core/errors.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { acquireLock } from '../runner/lock.js';
import { RunningStage } from '../runner/context.js';
import { createProgress } from '../runner/progress.js';
import { readManifest, runPipeline, type RunRequest, type StageOutcome } from '../runner/runner.js';
import type { Logger } from '../runner/log.js';
import { dedupConfigHash, shardDecision } from '../stages/dedup/index.js';
import { MAP_VERSION, readMapManifest, readReduceManifest, writeMap } from '../stages/dedup/mapreduce.js';
import { signWhole } from '../stages/dedup/sign.js';
import { Embedder } from '../stages/dedup/semantic.js';
import { MAP_DIR, shardDir } from './layout.js';
import type { ShardSpec } from './scheduler-env.js';

export interface ShardRunResult {
  outcomes: StageOutcome[];
  /** The shard folder its stages are in. */
  outDir: string;
  /** Set when the shard stopped after its dedup map because the reduce's decision is not there (yet). */
  waiting: string | null;
}

/**
 * The config a shard runs with: its shard entry, and the teacher cache of the whole run (a relative
 * label.cache_dir is resolved against the run folder, not the shard's, so all shards share one cache).
 */
export function shardConfig(config: PipelineConfig, spec: ShardSpec, runDir: string): PipelineConfig {
  const buckets = config.export.shard.buckets;
  if (spec.count > buckets) {
    throw new UsageError(`--shard ${spec.index}/${spec.count}: a run can have at most export.shard.buckets (${buckets}) shards, since a shard owns whole buckets; set --set export.shard.buckets=${spec.count} or more (on every shard, the reduce and the gather).`);
  }
  const cache = config.label.cache_dir;
  return {
    ...config,
    shard: { index: spec.index, count: spec.count, run_dir: runDir },
    label: { ...config.label, cache_dir: isAbsolute(cache) ? cache : resolve(runDir, cache) },
  };
}

/**
 * `trajpipe run --shard I/N`, phases 1 and 3 with one command: ingest and filter of this shard, then its
 * dedup map (signature files); then, if the reduce's decision covers this shard's current filter output,
 * dedup applies it and label, segment and export write this shard's part. Otherwise it stops cleanly.
 */
export async function runShard(req: Omit<RunRequest, 'outDir' | 'until'>, runDir: string, spec: ShardSpec): Promise<ShardRunResult> {
  const config = shardConfig(req.config, spec, runDir);
  const outDir = shardDir(runDir, spec.index, spec.count);
  const tag = `shard ${spec.index}/${spec.count}`;
  req.log.info(`trajpipe: ${tag} in ${outDir}`);
  const first = await runPipeline({ ...req, config, outDir, until: req.only ?? 'filter' });
  if (first.some((o) => o.status === 'stopped') || req.only) return { outcomes: first, outDir, waiting: null };

  const filter = await readManifest(join(outDir, 'filter'));
  if (!filter) throw new Error(`${tag}: filter finished without a manifest`);
  if (config.dedup.enabled) await ensureMap(config, outDir, filter.output_fingerprint, req.inputFiles, spec, req.log);

  if (config.dedup.enabled) {
    const decision = shardDecision(config)!;
    const reduce = await readReduceManifest(decision.dir);
    const mine = reduce?.maps.find((m) => m.shard === spec.index);
    const current = reduce && reduce.shards === spec.count && reduce.config_hash === dedupConfigHash(config) && mine?.input_fingerprint === filter.output_fingerprint;
    if (!current) {
      const why = reduce ? 'the decision in it is for another filter output, config or shard count' : 'it has no decision yet';
      return {
        outcomes: first,
        outDir,
        waiting: `trajpipe: ${tag}: ingest, filter and the dedup map are complete; waiting for \`trajpipe reduce --shards ${spec.count}\` to write ${decision.dir} (${why}), then run this same command again.`,
      };
    }
  }
  const rest = await runPipeline({ ...req, config, outDir, until: 'export' });
  return { outcomes: rest, outDir, waiting: null };
}

/** The dedup map of one shard, rewritten only when filter's output or dedup's config changed; atomic like a stage. */
async function ensureMap(config: PipelineConfig, outDir: string, filterFingerprint: string, inputFiles: readonly string[], spec: ShardSpec, log: Logger): Promise<void> {
  const dir = join(outDir, MAP_DIR);
  const configHash = dedupConfigHash(config);
  const existing = await readMapManifest(dir);
  if (existing && existing.input_fingerprint === filterFingerprint && existing.config_hash === configHash && existing.version === MAP_VERSION) {
    log.info(`dedup-map up to date, skipped (${existing.runs} runs)`);
    return;
  }
  const release = await acquireLock(outDir);
  try {
    for (const name of await readdir(outDir)) if (name.startsWith(`.${MAP_DIR}.`)) await rm(join(outDir, name), { recursive: true, force: true });
    const started = Date.now();
    const partial = join(outDir, `.${MAP_DIR}.partial-${process.pid}`);
    const filterManifest = (await readManifest(join(outDir, 'filter')))!;
    // Read filter's records the way a stage does (the frame's reader), without running a stage.
    const reader = new RunningStage({
      name: 'dedup',
      config,
      options: { dryRun: false, quiet: true },
      dir: partial,
      inputFiles: [...inputFiles],
      upstream: filterManifest,
      upstreamDir: join(outDir, 'filter'),
      log,
      progress: createProgress({ stage: 'dedup', total: null, quiet: true }),
    });
    const cfg = config.dedup;
    const embedder = cfg.semantic.enabled ? new Embedder(cfg.semantic, resolve(cfg.semantic.cache_dir)) : null;
    const map = await writeMap(partial, signWhole(reader.records({ count: false }), cfg), cfg, inputFiles, embedder);
    const manifest: DedupMapManifest = {
      kind: 'trajpipe-dedup-map',
      version: MAP_VERSION,
      shard: { index: spec.index, count: spec.count },
      input_fingerprint: filterFingerprint,
      config_hash: configHash,
      runs: map.runs,
      tasks: map.tasks,
      embeddings: map.embeddings,
      files: map.files,
      seconds: (Date.now() - started) / 1000,
    };
    await writeJsonAtomic(join(partial, 'manifest.json'), manifest);
    const old = join(outDir, `.${MAP_DIR}.old-${process.pid}`);
    await rename(dir, old).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rename(partial, dir);
    await rm(old, { recursive: true, force: true });
    log.info(`dedup-map ${map.runs} runs, ${map.tasks} tasks -> ${dir} in ${manifest.seconds.toFixed(1)}s`);
  } finally {
    await release();
  }
}

import { rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DedupReduceManifest, PipelineConfig } from '../../../schemas/index.js';
import { hashValue } from '../../core/hash.js';
import { UserError } from '../../core/errors.js';
import type { Stage, StageContext } from '../../runner/stage.js';
import { passThrough } from '../passthrough.js';
import type { Decision } from './planner.js';
import { REDUCE_CLUSTERS_FILE, decisionFileName, readDecisions, readReduceManifest, reduce, writeMap } from './mapreduce.js';
import { orderKeyer } from './signature.js';
import { Embedder } from './semantic.js';
import { scrubUrl } from '../../core/endpoint.js';

export const CLUSTERS_FILE = 'clusters.jsonl';

const WHY: Record<string, string> = {
  'duplicate-task': 'its task statement is identical (after normalisation) to that of task',
  'near-duplicate-task': 'its task statement is a near-duplicate (MinHash) of that of task',
  'semantic-duplicate-task': 'its task statement means the same (embedding cosine) as that of task',
  'duplicate-trajectory': 'it takes the same actions in the same order as kept run',
  'per-task-cap': 'its task already keeps the maximum number of runs; the nearest kept run is',
};

function explain(d: Decision): string {
  const sim = d.similarity === null ? '' : ` (similarity ${d.similarity.toFixed(3)})`;
  return `${WHY[d.reason!]} ${d.representative}${sim}`;
}

/** The dedup reduce's folder of a sharded run, and this shard's decision file in it. */
export function shardDecision(config: PipelineConfig): { dir: string; manifest: string; file: string } | null {
  if (!config.shard) return null;
  const dir = join(config.shard.run_dir, REDUCE_DIR);
  return { dir, manifest: join(dir, 'manifest.json'), file: join(dir, decisionFileName(config.shard.index, config.shard.count)) };
}

export const REDUCE_DIR = 'dedup-reduce';
export const DEDUP_REDUCE_VERSION = '1';

/** The hash of dedup's slice: a map and a decision are valid only for the config they were made with. */
export const dedupConfigHash = (config: PipelineConfig): string => hashValue(dedupSlice(config));

/** A single process: the map, the reduce and the apply of a sharded run, over its one shard, in its own folder. */
async function decideHere(ctx: StageContext): Promise<{ decisions: string; manifest: DedupReduceManifest }> {
  const cfg = ctx.config.dedup;
  const mapDir = join(ctx.dir, '.map');
  const embedder = cfg.semantic.enabled ? new Embedder(cfg.semantic, resolve(cfg.semantic.cache_dir)) : null;
  // Signatures are made where each record is parsed (a worker): this thread reads a few fields of it.
  const runs = ctx.mapRecords({ fields: ['id', 'task_id', 'source'], task: 'dedup.sign', input: () => ({ dedup: cfg }), count: false });
  const map = await writeMap(mapDir, (async function* () {
    for await (const { record, result } of runs) yield { record, signed: result };
  })(), cfg, ctx.inputFiles, embedder);
  const reduceDir = join(ctx.dir, '.reduce');
  const manifest = await reduce({
    cfg,
    configHash: dedupConfigHash(ctx.config),
    sources: [{ shard: 0, dir: mapDir, inputFingerprint: ctx.upstream?.output_fingerprint ?? '', runs: map.runs, tasks: map.tasks }],
    shards: 1,
    outDir: reduceDir,
    version: DEDUP_REDUCE_VERSION,
  });
  await rm(mapDir, { recursive: true, force: true });
  await rename(join(reduceDir, REDUCE_CLUSTERS_FILE), join(ctx.dir, CLUSTERS_FILE));
  if (embedder) {
    const sc = cfg.semantic;
    ctx.setStat('semantic', { model: sc.model, threshold: sc.threshold, dimensions: sc.dimensions, ...embedder.stats });
  }
  return { decisions: join(reduceDir, decisionFileName(0, 1)), manifest };
}

/** A shard: the reduce's decision, checked to be made from this shard's filter output and this config. */
async function decisionOfShard(ctx: StageContext): Promise<{ decisions: string; manifest: DedupReduceManifest }> {
  const where = shardDecision(ctx.config)!;
  const { index, count } = ctx.config.shard!;
  const manifest = await readReduceManifest(where.dir);
  if (!manifest) throw new UserError(`dedup: shard ${index}/${count} has no reduce decision in ${where.dir}; run \`trajpipe reduce\` after every shard's first run.`);
  const mine = manifest.maps.find((m) => m.shard === index);
  if (manifest.shards !== count || !mine) throw new UserError(`dedup: the decision in ${where.dir} was made for ${manifest.shards} shard(s), not ${count}; rerun \`trajpipe reduce --shards ${count}\`.`);
  if (manifest.config_hash !== dedupConfigHash(ctx.config) || mine.input_fingerprint !== ctx.upstream?.output_fingerprint) {
    throw new UserError(
      `dedup: the decision in ${where.dir} was made from another filter output of shard ${index}/${count} or another dedup config; rerun every shard's first phase and \`trajpipe reduce\`.`,
    );
  }
  return { decisions: where.file, manifest };
}

async function runDedup(ctx: StageContext): Promise<void> {
  const cfg = ctx.config.dedup;
  const { decisions, manifest } = ctx.config.shard ? await decisionOfShard(ctx) : await decideHere(ctx);
  const drops = await readDecisions(decisions);
  if (!ctx.config.shard) await rm(join(ctx.dir, '.reduce'), { recursive: true, force: true });
  const keyOf = orderKeyer(ctx.inputFiles);

  // Apply: a second pass emits survivors and rejects the rest, naming what was kept instead. It needs only
  // where each record came from: the rest of each line is passed on as read, never parsed again.
  for await (const record of ctx.records({ fields: ['id', 'task_id', 'source'] })) {
    const d = drops.lookup(keyOf(record), record.id);
    if (!d) {
      await ctx.emit(record);
      continue;
    }
    const decision: Decision = { keep: false, reason: d.reason as Decision['reason'], representative: d.representative, representativeTask: d.representative_task, similarity: d.similarity, clusterId: d.cluster_id };
    await ctx.reject({
      reason: d.reason,
      message: `${record.source.file} record ${record.source.record} (task ${record.task_id}, run ${record.id}) is a duplicate: ${explain(decision)}.`,
      id: record.id,
      task_id: record.task_id,
      file: record.source.file,
      record: record.source.record,
      details: { kept: d.representative, kept_task: d.representative_task, similarity: d.similarity, cluster_id: d.cluster_id },
    });
  }
  const m = cfg.minhash;
  ctx.setStat('minhash', {
    enabled: m.enabled,
    threshold: m.threshold,
    bands: m.bands,
    rows: m.rows,
    num_perm: m.bands * m.rows,
    shingle_size: m.shingle_size,
    seed: m.seed,
    // Similarity at which a pair becomes a candidate with probability 1/2: far below the threshold means more comparisons, none missed.
    lsh_candidate_threshold: Number(Math.pow(1 / m.bands, 1 / m.rows).toFixed(4)),
  });
  ctx.setStat('per_task_cap', cfg.per_task_cap);
  // A shard's clusters are the whole run's, in the reduce's folder.
  ctx.setStat('clusters_file', ctx.config.shard ? join(shardDecision(ctx.config)!.dir, REDUCE_CLUSTERS_FILE) : CLUSTERS_FILE);
  if (ctx.config.shard) ctx.setStat('shard', { index: ctx.config.shard.index, count: ctx.config.shard.count, decision: decisions, drops: drops.size });
  for (const [k, v] of Object.entries(manifest.summary)) ctx.setStat(k, v);
}

/**
 * The cache folder and batch size change how embeddings are fetched, not which tasks survive. The slice is
 * written into the manifest and the dataset card, so the endpoint appears without credentials or query.
 */
export function dedupSlice(config: PipelineConfig): unknown {
  const { cache_dir: _c, batch_size: _b, ...semantic } = config.dedup.semantic;
  return { ...config.dedup, semantic: { ...semantic, base_url: semantic.base_url === null ? null : scrubUrl(semantic.base_url) } };
}

export const dedupStage: Stage = {
  name: 'dedup',
  summary: 'Removes exact and near-duplicate tasks and runs (MinHash LSH, optional embeddings), and caps runs per task.',
  // 2: map, reduce and apply (the same decisions; the semantic pass embeds every task's statement in the map).
  version: '2',
  streamsUpstream: true,
  configSlice: dedupSlice,
  // A shard's verdicts come from the reduce: its manifest (which hashes every decision file) is part of the fingerprint.
  dependencyFiles: (config) => {
    const d = config.dedup.enabled ? shardDecision(config) : null;
    return d ? [d.manifest] : [];
  },
  cacheDirs: (config) => [resolve(config.dedup.semantic.cache_dir)],
  run: (ctx) => (ctx.config.dedup.enabled ? runDedup(ctx) : passThrough(ctx)),
};

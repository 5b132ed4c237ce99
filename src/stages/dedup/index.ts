import { join, resolve } from 'node:path';
import type { PipelineConfig } from '../../../schemas/index.js';
import type { Stage, StageContext } from '../../runner/stage.js';
import { JsonlWriter } from '../../io/jsonl.js';
import { passThrough } from '../passthrough.js';
import { DedupPlanner, type Decision } from './planner.js';
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

/** Extra streaming pass for semantic dedup: embeds the statement of each task still kept, then walks them greedily. */
async function semanticPass(ctx: StageContext, planner: DedupPlanner): Promise<void> {
  const cfg = ctx.config.dedup.semantic;
  const embedder = new Embedder(cfg, resolve(cfg.cache_dir));
  const order = planner.representatives();
  const wanted = new Map(order.map((t) => [planner.taskIdOf(t), t]));
  const vectors = new Map<number, Float32Array>();
  let batch: { task: number; text: string }[] = [];
  const flush = async () => {
    const got = await embedder.embed(batch.map((b) => b.text));
    batch.forEach((b, i) => vectors.set(b.task, got[i]!));
    batch = [];
  };
  for await (const record of ctx.records({ count: false })) {
    const t = wanted.get(record.task_id);
    if (t === undefined) continue;
    wanted.delete(record.task_id);
    batch.push({ task: t, text: record.task.trim() });
    if (batch.length >= cfg.batch_size) await flush();
  }
  if (batch.length) await flush();
  planner.applySemantic(order, vectors, cfg.threshold);
  ctx.setStat('semantic', { model: cfg.model, threshold: cfg.threshold, dimensions: cfg.dimensions, ...embedder.stats });
}

async function runDedup(ctx: StageContext): Promise<void> {
  const cfg = ctx.config.dedup;
  const planner = new DedupPlanner(cfg);
  // Find first: signatures from a pass that keeps only small summaries per record.
  for await (const record of ctx.records({ count: false })) planner.observe(record);
  if (cfg.semantic.enabled) await semanticPass(ctx, planner);
  planner.finalize();

  const clusters = await JsonlWriter.create(join(ctx.dir, CLUSTERS_FILE));
  for (const line of planner.clusters) await clusters.write(line);
  await clusters.close();

  // Then remove: a second pass emits survivors and rejects the rest, naming what was kept instead.
  let position = 0;
  for await (const record of ctx.records()) {
    const d = planner.decision(position++, record);
    if (d.keep) {
      await ctx.emit(record);
      continue;
    }
    await ctx.reject({
      reason: d.reason!,
      message: `${record.source.file} record ${record.source.record} (task ${record.task_id}, run ${record.id}) is a duplicate: ${explain(d)}.`,
      id: record.id,
      task_id: record.task_id,
      file: record.source.file,
      record: record.source.record,
      details: { kept: d.representative, kept_task: d.representativeTask, similarity: d.similarity, cluster_id: d.clusterId },
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
  ctx.setStat('clusters_file', CLUSTERS_FILE);
  for (const [k, v] of Object.entries(planner.summary())) ctx.setStat(k, v);
}

/**
 * The cache folder and batch size change how embeddings are fetched, not which tasks survive. The slice is
 * written into the manifest and the dataset card, so the endpoint appears without credentials or query.
 */
function dedupSlice(config: PipelineConfig): unknown {
  const { cache_dir: _c, batch_size: _b, ...semantic } = config.dedup.semantic;
  return { ...config.dedup, semantic: { ...semantic, base_url: semantic.base_url === null ? null : scrubUrl(semantic.base_url) } };
}

export const dedupStage: Stage = {
  name: 'dedup',
  summary: 'Removes exact and near-duplicate tasks and runs (MinHash LSH, optional embeddings), and caps runs per task.',
  version: '1',
  streamsUpstream: true,
  configSlice: dedupSlice,
  cacheDirs: (config) => [resolve(config.dedup.semantic.cache_dir)],
  run: (ctx) => (ctx.config.dedup.enabled ? runDedup(ctx) : passThrough(ctx)),
};

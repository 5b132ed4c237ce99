import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DedupConfig } from '../../../schemas/config/dedup.js';
import { DedupDropLine, DedupMapManifest, DedupReduceManifest, type PipelineRecord } from '../../../schemas/index.js';
import { UserError } from '../../core/errors.js';
import { JsonlWriter, readLines } from '../../io/jsonl.js';
import { writeJsonAtomic } from '../../io/atomic.js';
import { DedupPlanner, type ClusterLine } from './planner.js';
import { compareKeys, decodeF32, encodeF32, orderKeyer, type EmbeddingLine, type OrderKey, type RunSignature, type TaskSignature } from './signature.js';
import type { Signed } from './sign.js';
import type { Embedder } from './semantic.js';

/**
 * Dedup as map, reduce and apply. The map turns a stream of records into signature files (no text);
 * the reduce reads only those, of every shard, in global order, and writes per shard what to drop and why;
 * the apply streams the records again and drops what the decision names. A single process runs all three
 * over its one "shard", so a sharded run and a single process decide the same.
 */
export const MAP_VERSION = '1';
export const TASKS_FILE = 'tasks.jsonl';
export const RUNS_FILE = 'runs.jsonl';
export const EMBEDDINGS_FILE = 'embeddings.jsonl';
export const REDUCE_CLUSTERS_FILE = 'clusters.jsonl';

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function fileEntry(dir: string, name: string): Promise<{ path: string; bytes: number; sha256: string }> {
  const p = join(dir, name);
  return { path: name, bytes: (await stat(p)).size, sha256: await sha256File(p) };
}

export interface MapResult {
  runs: number;
  tasks: number;
  embeddings: number;
  files: { path: string; bytes: number; sha256: string }[];
}

/** One run as the map sees it: where it came from, and its signatures (made where the record was parsed, src/stages/dedup/sign.ts). */
export interface SignedRun {
  record: Pick<PipelineRecord, 'id' | 'task_id' | 'source'>;
  signed: Signed;
}

/**
 * The map: writes tasks.jsonl (one signature per task, from its first run), runs.jsonl (one per run, sorted by
 * global order key) and, with semantic dedup, embeddings.jsonl (one unit vector per task) into dir.
 */
export async function writeMap(dir: string, runs: AsyncIterable<SignedRun>, cfg: DedupConfig, inputFiles: readonly string[], embedder: Embedder | null): Promise<MapResult> {
  await mkdir(dir, { recursive: true });
  const keyOf = orderKeyer(inputFiles);
  const tasks = await JsonlWriter.create(join(dir, TASKS_FILE));
  const runsFile = await JsonlWriter.create(join(dir, RUNS_FILE));
  const embeddings = embedder ? await JsonlWriter.create(join(dir, EMBEDDINGS_FILE)) : null;
  const seen = new Set<string>();
  let last: OrderKey | null = null;
  let sorted = true;
  let batch: { task_id: string; text: string }[] = [];
  const flush = async (): Promise<void> => {
    if (!embedder || !embeddings || batch.length === 0) return;
    const got = await embedder.embed(batch.map((b) => b.text));
    for (const [i, b] of batch.entries()) await embeddings.write({ task_id: b.task_id, v: encodeF32(got[i]!) } satisfies EmbeddingLine);
    batch = [];
  };
  for await (const { record, signed } of runs) {
    const key = keyOf(record);
    if (last && compareKeys(last, key) > 0) sorted = false;
    last = key;
    if (!seen.has(record.task_id)) {
      seen.add(record.task_id);
      await tasks.write(signed.task);
      if (embedder) {
        batch.push({ task_id: record.task_id, text: signed.statement });
        if (batch.length >= cfg.semantic.batch_size) await flush();
      }
    }
    await runsFile.write({ key, ...signed.run });
  }
  await flush();
  await tasks.close();
  await runsFile.close();
  if (embeddings) await embeddings.close();
  if (!sorted) await sortRuns(join(dir, RUNS_FILE));
  const names = [TASKS_FILE, RUNS_FILE, ...(embeddings ? [EMBEDDINGS_FILE] : [])];
  const files = [];
  for (const n of names) files.push(await fileEntry(dir, n));
  return { runs: runsFile.records, tasks: tasks.records, embeddings: embeddings?.records ?? 0, files };
}

/** Records out of input order (canonical records re-ingested from elsewhere): the shard's runs are sorted in memory. */
async function sortRuns(file: string): Promise<void> {
  const all: RunSignature[] = [];
  for await (const l of readLines(file)) all.push(JSON.parse(l.text) as RunSignature);
  all.sort((a, b) => compareKeys(a.key, b.key) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const tmp = `${file}.sorting`;
  const w = await JsonlWriter.create(tmp);
  for (const r of all) await w.write(r);
  await w.close();
  await rename(tmp, file);
}

export interface MapSource {
  shard: number;
  dir: string;
}

/** A k-way merge of the shards' runs files by order key (a binary heap: N can be large). */
async function* mergeRuns(sources: readonly MapSource[]): AsyncGenerator<{ shard: number; run: RunSignature }> {
  type Head = { shard: number; run: RunSignature; it: AsyncGenerator<{ text: string }> };
  const heap: Head[] = [];
  const less = (a: Head, b: Head) => {
    const c = compareKeys(a.run.key, b.run.key);
    return c !== 0 ? c < 0 : a.run.id !== b.run.id ? a.run.id < b.run.id : a.shard < b.shard;
  };
  const push = (h: Head) => {
    heap.push(h);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): Head => {
    const top = heap[0]!;
    const end = heap.pop()!;
    if (heap.length) {
      heap[0] = end;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  const advance = async (shard: number, it: AsyncGenerator<{ text: string }>) => {
    const n = await it.next();
    if (!n.done) push({ shard, run: JSON.parse(n.value.text) as RunSignature, it });
  };
  for (const s of sources) await advance(s.shard, readLines(join(s.dir, RUNS_FILE)));
  while (heap.length) {
    const h = pop();
    yield { shard: h.shard, run: h.run };
    await advance(h.shard, h.it);
  }
}

export interface ReduceOptions {
  cfg: DedupConfig;
  configHash: string;
  /** Each shard's map folder and the fingerprint of the filter output it was computed from. */
  sources: readonly (MapSource & { inputFingerprint: string; runs: number; tasks: number })[];
  shards: number;
  /** Where the decision goes: decisions/I-of-N.jsonl, clusters.jsonl, manifest.json (last). */
  outDir: string;
  version: string;
}

export const decisionFileName = (shard: number, count: number) => `decisions/${shard}-of-${count}.jsonl`;

/**
 * The reduce: reads the shards' signatures (tasks first, as their first run arrives; runs merged in global order),
 * decides with the same planner a single process uses, and writes each shard's drops in order.
 * Memory: the planner's per-task signature and per-run summary, plus an order key per run (docs/cluster.md).
 */
export async function reduce(opts: ReduceOptions): Promise<DedupReduceManifest> {
  const started = Date.now();
  const { cfg, outDir } = opts;
  const planner = new DedupPlanner(cfg);
  const pending = new Map<string, TaskSignature>();
  for (const s of opts.sources) {
    for await (const l of readLines(join(s.dir, TASKS_FILE))) {
      const t = JSON.parse(l.text) as TaskSignature;
      if (pending.has(t.task_id) || planner.hasTask(t.task_id)) throw new UserError(`dedup reduce: task ${t.task_id} appears in more than one shard's map; were the shards run with different --shard counts or export.shard.buckets?`);
      pending.set(t.task_id, t);
    }
  }
  const shardOf: number[] = [];
  const fileIndex: number[] = [];
  const recordNo: number[] = [];
  const fileName = new Map<number, string>();
  let peak = process.memoryUsage().rss;
  for await (const { shard, run } of mergeRuns(opts.sources)) {
    const t = pending.get(run.task_id);
    if (t) {
      planner.observeTask(t);
      pending.delete(run.task_id);
    }
    const p = shardOf.length;
    shardOf.push(shard);
    fileIndex.push(run.key[0]);
    recordNo.push(run.key[2]);
    if (run.key[1] !== '') fileName.set(p, run.key[1]);
    planner.observeRun(run);
    if ((p & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  let semantic: Record<string, unknown> | null = null;
  if (cfg.semantic.enabled) {
    const order = planner.representatives();
    const wanted = new Map(order.map((t) => [planner.taskIdOf(t), t]));
    const vectors = new Map<number, Float32Array>();
    for (const s of opts.sources) {
      const file = join(s.dir, EMBEDDINGS_FILE);
      for await (const l of readLines(file)) {
        const e = JSON.parse(l.text) as EmbeddingLine;
        const t = wanted.get(e.task_id);
        if (t !== undefined) vectors.set(t, decodeF32(e.v));
      }
    }
    planner.applySemantic(order, vectors, cfg.semantic.threshold);
    semantic = { representatives: order.length, vectors: vectors.size };
  }
  planner.finalize();
  peak = Math.max(peak, process.memoryUsage().rss);

  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, 'decisions'), { recursive: true });
  const writers = new Map<number, JsonlWriter>();
  for (let s = 0; s < opts.shards; s++) writers.set(s, await JsonlWriter.create(join(outDir, decisionFileName(s, opts.shards))));
  for (let p = 0; p < shardOf.length; p++) {
    const d = planner.decisionAt(p);
    if (d.keep) continue;
    const line: DedupDropLine = {
      key: [fileIndex[p]!, fileName.get(p) ?? '', recordNo[p]!],
      id: planner.runIdAt(p),
      reason: d.reason!,
      representative: d.representative,
      representative_task: d.representativeTask,
      similarity: d.similarity,
      cluster_id: d.clusterId,
    };
    await writers.get(shardOf[p]!)!.write(line);
  }
  const decisions = [];
  for (const [s, w] of writers) {
    await w.close();
    decisions.push({ shard: s, path: decisionFileName(s, opts.shards), drops: w.records, sha256: await sha256File(w.path) });
  }
  const clusters = await JsonlWriter.create(join(outDir, REDUCE_CLUSTERS_FILE));
  for (const c of planner.clusters) await clusters.write(c);
  await clusters.close();
  peak = Math.max(peak, process.memoryUsage().rss);
  const manifest: DedupReduceManifest = {
    kind: 'trajpipe-dedup-reduce',
    version: opts.version,
    shards: opts.shards,
    config_hash: opts.configHash,
    maps: opts.sources.map((s) => ({ shard: s.shard, input_fingerprint: s.inputFingerprint, runs: s.runs, tasks: s.tasks })),
    decisions,
    clusters: { path: REDUCE_CLUSTERS_FILE, lines: clusters.records, sha256: await sha256File(clusters.path) },
    summary: planner.summary(),
    semantic,
    timings: { seconds: (Date.now() - started) / 1000, peak_rss_bytes: peak },
  };
  await writeJsonAtomic(join(outDir, 'manifest.json'), manifest);
  return manifest;
}

export async function readReduceManifest(dir: string): Promise<DedupReduceManifest | null> {
  const text = await readFile(join(dir, 'manifest.json'), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = DedupReduceManifest.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function readMapManifest(dir: string): Promise<DedupMapManifest | null> {
  const text = await readFile(join(dir, 'manifest.json'), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = DedupMapManifest.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

const dropKey = (key: OrderKey, id: string) => `${key[0]}\u0000${key[1]}\u0000${key[2]}\u0000${id}`;

/** One shard's drops, by run: what the apply pass looks up. */
export async function readDecisions(file: string): Promise<{ lookup: (key: OrderKey, id: string) => DedupDropLine | null; size: number }> {
  const drops = new Map<string, DedupDropLine>();
  for await (const l of readLines(file)) {
    const d = DedupDropLine.parse(JSON.parse(l.text));
    drops.set(dropKey(d.key, d.id), d);
  }
  return { lookup: (key, id) => drops.get(dropKey(key, id)) ?? null, size: drops.size };
}

export type { ClusterLine };

import { copyFile, link, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SCHEMA_VERSION, STAGE_ORDER, type OutputFile, type PipelineConfig, type StageManifest, type StageName } from '../../schemas/index.js';
import { UserError } from '../core/errors.js';
import { hashValue } from '../core/hash.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { acquireLock } from '../runner/lock.js';
import type { Logger } from '../runner/log.js';
import { readManifest, runPipeline, type StageOutcome } from '../runner/runner.js';
import { codeVersion } from '../runner/version.js';
import type { RunOptions } from '../runner/stage.js';
import { STAGES } from '../stages/index.js';
import { exportCard, exportStage } from '../stages/export/index.js';
import { globalShardName, parseBucketFile } from '../stages/export/buckets.js';
import type { ExportTally } from '../stages/export/card.js';
import { shardDir } from './layout.js';

/** The stages a shard runs before export; their outputs stay in the shards. */
const SHARD_STAGES = STAGE_ORDER.slice(0, STAGE_ORDER.indexOf('export'));
/** After export, what the gather runs over the whole dataset. pool reads ingest and filter, which stay in the shards. */
const AFTER_EXPORT: StageName = 'formats';

/** Numbers summed at every depth (counts per reason, per harness, per shape); anything else is taken from the first. */
export function sumDeep(values: readonly unknown[]): unknown {
  const first = values[0];
  if (typeof first === 'number') return values.reduce<number>((a, v) => a + (typeof v === 'number' ? v : 0), 0);
  if (first && typeof first === 'object' && !Array.isArray(first)) {
    const keys: string[] = [];
    const seen = new Set<string>();
    for (const v of values) {
      if (!v || typeof v !== 'object' || Array.isArray(v)) continue;
      for (const k of Object.keys(v)) if (!seen.has(k)) (seen.add(k), keys.push(k));
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const present = values.map((v) => (v as Record<string, unknown> | null)?.[k]).filter((x) => x !== undefined);
      out[k] = sumDeep(present);
    }
    return out;
  }
  return first;
}

/** One stage's manifests of all shards as one: counts summed, the config slice without the shard entry. */
function sumManifests(ms: readonly StageManifest[]): StageManifest {
  const base = ms[0]!;
  const { shard: _s, ...stats } = sumDeep(ms.map((m) => m.stats)) as Record<string, unknown>;
  const config = base.config && typeof base.config === 'object' ? (({ shard: _x, ...rest }) => rest)(base.config as Record<string, unknown>) : base.config;
  return {
    ...base,
    config,
    records_in: ms.reduce((a, m) => a + m.records_in, 0),
    records_out: ms.reduce((a, m) => a + m.records_out, 0),
    dropped: sumDeep(ms.map((m) => m.dropped)) as Record<string, number>,
    stats,
  };
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
    await copyFile(from, to);
  }
}

export interface GatherResult {
  manifest: StageManifest;
  outcomes: StageOutcome[];
}

/**
 * `trajpipe gather --shards N` (phase 4): the one dataset in RUN/export/. Each shard wrote whole buckets'
 * files, byte for byte those of a single process; gather links them under their global names (bucket order),
 * and writes the one manifest and card from the shards' counts. Then tokenize and formats run over it.
 */
export async function gatherShards(config: PipelineConfig, runDir: string, shards: number, options: RunOptions, log: Logger): Promise<GatherResult> {
  const exports: { index: number; dir: string; manifest: StageManifest }[] = [];
  const missing: number[] = [];
  const lineages = new Map<StageName, StageManifest[]>(SHARD_STAGES.map((s) => [s, []]));
  for (let i = 0; i < shards; i++) {
    const sd = shardDir(runDir, i, shards);
    const m = await readManifest(join(sd, 'export'));
    if (!m) {
      missing.push(i);
      continue;
    }
    exports.push({ index: i, dir: join(sd, 'export'), manifest: m });
    for (const s of SHARD_STAGES) {
      const sm = await readManifest(join(sd, s));
      if (!sm) throw new UserError(`trajpipe gather: shard ${i}/${shards} has an export but no ${s} manifest in ${sd}; rerun \`trajpipe run --shard ${i}/${shards}\`.`);
      lineages.get(s)!.push(sm);
    }
  }
  if (missing.length) {
    throw new UserError(`trajpipe gather: shard(s) ${missing.slice(0, 10).join(', ')} of ${shards} have no complete export in ${join(runDir, 'shards')}; run \`trajpipe run --shard I/${shards}\` for them (after \`trajpipe reduce\`) first.`);
  }
  const configHashes = new Set(exports.map((e) => e.manifest.config_hash));
  if (configHashes.size > 1) throw new UserError('trajpipe gather: the shards exported with different export configs; rerun them with one config.');

  const files: { bucket: number; index: number; from: string; out: OutputFile }[] = [];
  for (const e of exports) {
    for (const out of e.manifest.outputs) {
      const name = out.path.replace(/^data\//, '');
      const b = parseBucketFile(name);
      if (!b) throw new UserError(`trajpipe gather: ${join(e.dir, out.path)} is not a bucket file of a sharded export; was shard ${e.index} run without --shard?`);
      files.push({ ...b, from: join(e.dir, out.path), out });
    }
  }
  files.sort((a, b) => a.bucket - b.bucket || a.index - b.index);
  const seen = new Set<number>();
  for (const f of files) if (f.index === 0 && seen.has(f.bucket)) throw new UserError(`trajpipe gather: bucket ${f.bucket} was exported by two shards; were they run with different shard counts?`);
  else seen.add(f.bucket);

  const started = new Date();
  const release = await acquireLock(runDir);
  let manifest: StageManifest;
  try {
    for (const name of await readdir(runDir)) if (/^\.export\.(partial|old)-/.test(name)) await rm(join(runDir, name), { recursive: true, force: true });
    const partial = join(runDir, `.export.partial-${process.pid}`);
    await mkdir(join(partial, 'data'), { recursive: true });
    const outputs: OutputFile[] = [];
    if (files.length === 0) throw new UserError('trajpipe gather: the shards exported no file at all.');
    for (const [i, f] of files.entries()) {
      const name = globalShardName(i, files.length);
      await linkOrCopy(f.from, join(partial, 'data', name));
      outputs.push({ ...f.out, path: `data/${name}` });
    }
    const lineage = SHARD_STAGES.map((s) => sumManifests(lineages.get(s)!));
    const ms = exports.map((e) => e.manifest);
    const tally = sumDeep(ms.map((m) => m.stats.card_tally)) as ExportTally;
    const dropped = sumDeep(ms.map((m) => m.stats.card_dropped ?? {})) as Record<string, number>;
    const dataOutputs = outputs.map((o) => ({ ...o, path: o.path.replace(/^data\//, '') }));
    await writeFile(join(partial, 'README.md'), exportCard(config, dataOutputs, tally, lineage, dropped));
    const summed = sumManifests(ms);
    const finished = new Date();
    manifest = {
      ...summed,
      stage: 'export',
      schema_version: SCHEMA_VERSION,
      code_version: codeVersion(),
      fingerprint: hashValue({ gather: ms.map((m) => m.fingerprint), version: exportStage.version }),
      input_fingerprint: hashValue(lineage.map((m) => m.output_fingerprint)),
      output_fingerprint: hashValue(outputs.map((o) => [o.path, o.sha256])),
      outputs,
      stats: { ...summed.stats, gathered: { shards, files: outputs.length, linked_from: 'shards/I-of-N/export/data/bucket-*.parquet' } },
      timings: { started_at: started.toISOString(), finished_at: finished.toISOString(), seconds: (finished.getTime() - started.getTime()) / 1000 },
    };
    await writeJsonAtomic(join(partial, 'manifest.json'), manifest);
    const final = join(runDir, 'export');
    const old = join(runDir, `.export.old-${process.pid}`);
    await rename(final, old).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rename(partial, final);
    await rm(old, { recursive: true, force: true });
    log.info(`trajpipe: gathered ${shards} shard(s): ${manifest.records_out} rows in ${outputs.length} file(s) -> ${final}`);
  } finally {
    await release();
  }
  // The stages after export that read only export: tokenize and formats, through the frame as usual.
  const outcomes = await runPipeline({
    config,
    stages: STAGES,
    outDir: runDir,
    inputFiles: [],
    from: 'tokenize',
    until: AFTER_EXPORT,
    absent: SHARD_STAGES,
    options,
    log,
  });
  return { manifest, outcomes };
}

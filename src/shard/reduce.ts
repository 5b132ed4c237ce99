import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DedupReduceManifest, PipelineConfig } from '../../schemas/index.js';
import { UserError } from '../core/errors.js';
import { acquireLock } from '../runner/lock.js';
import type { Logger } from '../runner/log.js';
import { DEDUP_REDUCE_VERSION, REDUCE_DIR, dedupConfigHash } from '../stages/dedup/index.js';
import { readMapManifest, reduce } from '../stages/dedup/mapreduce.js';
import { mapDir } from './layout.js';

/**
 * `trajpipe reduce --shards N` (phase 2): reads only the N shards' dedup maps and writes the decision into
 * RUN/dedup-reduce/ (per shard what to drop and why, the clusters, a manifest last), atomically.
 */
export async function reduceShards(config: PipelineConfig, runDir: string, shards: number, log: Logger): Promise<DedupReduceManifest> {
  if (!config.dedup.enabled) throw new UserError('dedup.enabled is false: there is nothing to reduce; run the shards again, they go on without a decision.');
  const configHash = dedupConfigHash(config);
  const sources = [];
  const missing: number[] = [];
  const stale: number[] = [];
  for (let i = 0; i < shards; i++) {
    const dir = mapDir(runDir, i, shards);
    const m = await readMapManifest(dir);
    if (!m) missing.push(i);
    else if (m.config_hash !== configHash || m.shard.count !== shards) stale.push(i);
    else sources.push({ shard: i, dir, inputFingerprint: m.input_fingerprint, runs: m.runs, tasks: m.tasks });
  }
  const list = (xs: number[]) => xs.slice(0, 10).join(', ') + (xs.length > 10 ? `, … (${xs.length} in all)` : '');
  if (missing.length) throw new UserError(`trajpipe reduce: shard(s) ${list(missing)} of ${shards} have no dedup map in ${join(runDir, 'shards')}; run \`trajpipe run --shard I/${shards}\` for them first.`);
  if (stale.length) throw new UserError(`trajpipe reduce: the dedup map of shard(s) ${list(stale)} was made with another dedup config or shard count; rerun \`trajpipe run --shard I/${shards}\` for them with this config first.`);

  const release = await acquireLock(runDir);
  try {
    const partial = join(runDir, `.${REDUCE_DIR}.partial-${process.pid}`);
    const manifest = await reduce({ cfg: config.dedup, configHash, sources, shards, outDir: partial, version: DEDUP_REDUCE_VERSION });
    const final = join(runDir, REDUCE_DIR);
    const old = join(runDir, `.${REDUCE_DIR}.old-${process.pid}`);
    await rename(final, old).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rename(partial, final);
    await rm(old, { recursive: true, force: true });
    const drops = manifest.decisions.reduce((a, d) => a + d.drops, 0);
    const runs = manifest.maps.reduce((a, m) => a + m.runs, 0);
    log.info(
      `trajpipe: reduce of ${shards} shard(s): ${runs} runs, ${drops} to drop, ${manifest.clusters.lines} cluster(s) -> ${final} in ${manifest.timings.seconds.toFixed(1)}s (peak RSS ${(manifest.timings.peak_rss_bytes / 2 ** 20).toFixed(0)} MB)`,
    );
    return manifest;
  } finally {
    await release();
  }
}

import { resolve } from 'node:path';
import type { PipelineConfig } from '../../schemas/index.js';
import { UsageError } from '../core/errors.js';
import { loadConfig } from '../config/load.js';
import { createLogger, type Logger } from '../runner/log.js';

/** What `trajpipe reduce` and `trajpipe gather` share: the config the shards ran with, the run folder, N. */
export async function shardCommandSetup(
  pipeline: string | undefined,
  out: string | undefined,
  set: string[] | undefined,
  shards: number,
  quiet: boolean,
): Promise<{ config: PipelineConfig; runDir: string; log: Logger }> {
  if (!Number.isInteger(shards) || shards < 1) throw new UsageError(`--shards ${shards}: give the shard count N of the run, a whole number of at least 1.`);
  const { config } = await loadConfig(pipeline ?? null, set ?? []);
  if (shards > config.export.shard.buckets) throw new UsageError(`--shards ${shards} is more than export.shard.buckets (${config.export.shard.buckets}); a run can have no more shards than buckets.`);
  const runDir = resolve(out ?? config.out ?? `data/runs/${config.name}`);
  return { config, runDir, log: createLogger(quiet) };
}

import { UsageError } from '../core/errors.js';

export interface ShardSpec {
  index: number;
  count: number;
}

const INT = /^\d+$/;

function int(env: Readonly<Record<string, string | undefined>>, name: string): number | null {
  const v = env[name]?.trim();
  if (v === undefined || v === '') return null;
  if (!INT.test(v)) throw new UsageError(`--shard auto: ${name} is "${v}", not a whole number.`);
  return Number(v);
}

function checked(spec: ShardSpec, from: string): ShardSpec {
  if (spec.count < 1) throw new UsageError(`--shard auto: ${from} gives a shard count of ${spec.count}; it must be at least 1.`);
  if (spec.index >= spec.count) throw new UsageError(`--shard auto: ${from} gives shard index ${spec.index}, which is not below the shard count ${spec.count}.`);
  return spec;
}

/**
 * The shard of this process from the scheduler's variables (`--shard auto`). Slurm array jobs:
 * SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN (0 when unset), of SLURM_ARRAY_TASK_COUNT. Kubernetes
 * Indexed Jobs: JOB_COMPLETION_INDEX, of TRAJPIPE_SHARD_COUNT (the manifest sets it to spec.completions;
 * Kubernetes has no count variable of its own). Slurm wins when both are set. Pure: pass process.env.
 */
export function shardFromEnv(env: Readonly<Record<string, string | undefined>>): ShardSpec {
  const slurmId = int(env, 'SLURM_ARRAY_TASK_ID');
  if (slurmId !== null) {
    const count = int(env, 'SLURM_ARRAY_TASK_COUNT');
    if (count === null) throw new UsageError('--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; submit with sbatch --array=0-(N-1).');
    const min = int(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    if (slurmId < min) throw new UsageError(`--shard auto: SLURM_ARRAY_TASK_ID (${slurmId}) is below SLURM_ARRAY_TASK_MIN (${min}).`);
    const max = int(env, 'SLURM_ARRAY_TASK_MAX');
    if (max !== null && max - min + 1 !== count) {
      throw new UsageError(`--shard auto: the Slurm array ${min}-${max} is not contiguous (SLURM_ARRAY_TASK_COUNT is ${count}); use --array=0-${count - 1} without a step or holes.`);
    }
    return checked({ index: slurmId - min, count }, 'the Slurm array');
  }
  const k8sIndex = int(env, 'JOB_COMPLETION_INDEX');
  if (k8sIndex !== null) {
    const count = int(env, 'TRAJPIPE_SHARD_COUNT');
    if (count === null) throw new UsageError('--shard auto: JOB_COMPLETION_INDEX is set but TRAJPIPE_SHARD_COUNT is not; set it to the Job\'s spec.completions in the manifest.');
    return checked({ index: k8sIndex, count }, 'JOB_COMPLETION_INDEX and TRAJPIPE_SHARD_COUNT');
  }
  throw new UsageError('--shard auto needs the scheduler\'s variables (SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX and TRAJPIPE_SHARD_COUNT), and none is set; give --shard I/N instead.');
}

/** `--shard I/N` (0-based I) or `--shard auto`. */
export function parseShardArg(arg: string, env: Readonly<Record<string, string | undefined>>): ShardSpec {
  if (arg === 'auto') return shardFromEnv(env);
  const m = /^(\d+)\/(\d+)$/.exec(arg.trim());
  if (!m) throw new UsageError(`--shard "${arg}" is not I/N (0-based index over count, e.g. 0/4) or auto.`);
  const spec = { index: Number(m[1]), count: Number(m[2]) };
  if (spec.count < 1) throw new UsageError(`--shard ${arg}: the shard count must be at least 1.`);
  if (spec.index >= spec.count) throw new UsageError(`--shard ${arg}: the index is 0-based, so it must be below ${spec.count}.`);
  return spec;
}

import { describe, expect, it } from 'vitest';
import { parseShardArg, shardFromEnv } from '../../src/shard/scheduler-env.js';
import { Partition, bucketOf, bucketRange } from '../../src/shard/partition.js';
import { UsageError } from '../../src/core/errors.js';

describe('shard from the scheduler', () => {
  it('maps a Slurm array (offset by its minimum) and a Kubernetes Indexed Job to I/N', () => {
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_MAX: '7', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({ index: 3, count: 4 });
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2' })).toEqual({ index: 0, count: 2 });
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '2', TRAJPIPE_SHARD_COUNT: '3' })).toEqual({ index: 2, count: 3 });
  });

  it('refuses missing or inconsistent variables with one sentence (a usage error, exit 2)', () => {
    const bad: Record<string, string>[] = [
      {},
      { SLURM_ARRAY_TASK_ID: '1' },
      { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4' },
      { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '6', SLURM_ARRAY_TASK_COUNT: '4' },
      { JOB_COMPLETION_INDEX: '1' },
      { JOB_COMPLETION_INDEX: '3', TRAJPIPE_SHARD_COUNT: '3' },
      { JOB_COMPLETION_INDEX: 'x', TRAJPIPE_SHARD_COUNT: '3' },
    ];
    for (const env of bad) {
      expect(() => shardFromEnv(env)).toThrow(UsageError);
      try {
        shardFromEnv(env);
      } catch (err) {
        expect((err as Error).message.split(/\.\s/).length).toBeLessThanOrEqual(2);
      }
    }
    expect(() => parseShardArg('4/4', {})).toThrow(UsageError);
    expect(() => parseShardArg('one/4', {})).toThrow(UsageError);
    expect(parseShardArg('1/4', {})).toEqual({ index: 1, count: 4 });
    expect(parseShardArg('auto', { JOB_COMPLETION_INDEX: '0', TRAJPIPE_SHARD_COUNT: '1' })).toEqual({ index: 0, count: 1 });
  });
});

describe('partition', () => {
  it('gives every bucket to exactly one shard, in contiguous ranges, for any N up to the bucket count', () => {
    for (const buckets of [1, 4, 16, 37]) {
      for (let n = 1; n <= buckets; n++) {
        const owners = Array.from({ length: buckets }, (_, b) => Array.from({ length: n }, (_, i) => i).filter((i) => new Partition(i, n, buckets).ownsBucket(b)));
        expect(owners.every((o) => o.length === 1)).toBe(true);
        for (let i = 0; i < n; i++) expect(bucketRange(i, n, buckets).hi).toBeGreaterThan(bucketRange(i, n, buckets).lo);
      }
    }
  });

  it('puts a task in a bucket by a hash of its id alone', () => {
    expect(bucketOf('django__django-11099', 16)).toBe(bucketOf('django__django-11099', 16));
    const seen = new Set(Array.from({ length: 200 }, (_, i) => bucketOf(`task-${i}`, 16)));
    expect(seen.size).toBe(16);
  });
});

import { createHash } from 'node:crypto';

/**
 * The partition of a sharded run. A task's bucket is a stable hash of its task id (never of file order),
 * taken modulo `export.shard.buckets`; shard I of N owns the contiguous bucket range
 * [floor(I*B/N), floor((I+1)*B/N)). So every run of a task lands in one shard, the mapping depends only on
 * (task id, B, N), and each shard owns whole export buckets (its export files are a single process's).
 */
export function bucketOf(key: string, buckets: number): number {
  const h = createHash('sha256').update(key).digest();
  return h.readUInt32BE(0) % buckets;
}

export interface BucketRange {
  /** First bucket owned (inclusive). */
  lo: number;
  /** One past the last bucket owned. */
  hi: number;
}

export function bucketRange(index: number, count: number, buckets: number): BucketRange {
  return { lo: Math.floor((index * buckets) / count), hi: Math.floor(((index + 1) * buckets) / count) };
}

export class Partition {
  readonly range: BucketRange;
  constructor(
    readonly index: number,
    readonly count: number,
    readonly buckets: number,
  ) {
    this.range = bucketRange(index, count, buckets);
  }
  ownsBucket(b: number): boolean {
    return b >= this.range.lo && b < this.range.hi;
  }
  /** A run belongs to the shard of its task. */
  ownsTask(taskId: string): boolean {
    return this.ownsBucket(bucketOf(taskId, this.buckets));
  }
  /** A record rejected before its task id is known belongs to the shard of its file and record number. */
  ownsUnidentified(file: string, record: number | null): boolean {
    return this.ownsBucket(bucketOf(`${file}\u0000${record ?? ''}`, this.buckets));
  }
}

/** The folder of shard I of N inside a run folder. */
export function shardFolderName(index: number, count: number): string {
  return `${index}-of-${count}`;
}

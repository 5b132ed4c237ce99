import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutputFile } from '../../../schemas/index.js';
import type { ShardWriter } from '../../io/parquet/shard-writer.js';
import { bucketOf } from '../../shard/partition.js';

const BUCKET_FILE = /^bucket-(\d{5})-(\d{5})-of-(\d{5})\.parquet$/;

/** The bucket-local name of a file: bucket-BBBBB-IIIII-of-NNNNN.parquet; parsed by gather. */
export function parseBucketFile(name: string): { bucket: number; index: number } | null {
  const m = BUCKET_FILE.exec(name);
  return m ? { bucket: Number(m[1]), index: Number(m[2]) } : null;
}

/** Final names over the whole dataset, the Hugging Face `-of-` convention. */
export const globalShardName = (i: number, total: number) => `train-${String(i).padStart(5, '0')}-of-${String(total).padStart(5, '0')}.parquet`;

/**
 * Export's file layout, independent of how the run was split: a row goes to the bucket of its task id
 * (the same hash a sharded run partitions by), each bucket's rows in input order, split into files by
 * export.shard.max_rows / target_bytes. A shard owns whole buckets, so it writes exactly the files a single
 * process writes; only their numbering over the whole needs every shard, and gather does that by renaming.
 * One writer per bucket that has rows is open at a time: memory is buckets x one row group.
 */
export class BucketedShards {
  private readonly writers = new Map<number, ShardWriter>();
  constructor(
    private readonly buckets: number,
    private readonly make: (prefix: string) => ShardWriter,
  ) {}

  async write(taskId: string, row: Record<string, unknown>, approxBytes: number): Promise<void> {
    const b = bucketOf(taskId, this.buckets);
    let w = this.writers.get(b);
    if (!w) {
      w = this.make(`bucket-${String(b).padStart(5, '0')}`);
      this.writers.set(b, w);
    }
    await w.write(row, approxBytes);
  }

  /** Closes every bucket's files under their bucket names, in bucket order. */
  async closeBuckets(): Promise<OutputFile[]> {
    const order = [...this.writers.keys()].sort((x, y) => x - y);
    // Every bucket's last group goes to the workers first, so they encode side by side while the files close in order.
    for (const b of order) await this.writers.get(b)!.flushPending();
    const out: OutputFile[] = [];
    for (const b of order) out.push(...(await this.writers.get(b)!.close()));
    return out;
  }

  /** A single process: closes the buckets and numbers their files over the whole (an empty export still gets one file). */
  async close(dir: string): Promise<OutputFile[]> {
    if (this.writers.size === 0) this.writers.set(0, this.make('bucket-00000'));
    const files = await this.closeBuckets();
    const named: OutputFile[] = [];
    for (const [i, f] of files.entries()) {
      const name = globalShardName(i, files.length);
      await rename(join(dir, f.path), join(dir, name));
      named.push({ ...f, path: name });
    }
    return named;
  }
}

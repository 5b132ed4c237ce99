import type { PipelineConfig, PipelineRecord } from '../../../schemas/index.js';
import type { RejectInput, StageContext } from '../../runner/stage.js';
import { Partition } from '../../shard/partition.js';

/**
 * A sharded ingest (`--shard I/N`) reads every input, since a task id is only known once a record is
 * parsed, but keeps only its own records: a run whose task falls in another shard's buckets is not this
 * shard's input (not counted in, not rejected); a reject without a task id goes to the shard of its file and
 * record. The reader calls countIn() before the one emit() or reject() each record ends in, so the count is
 * held until the record's owner is known. The manifest says how many records were left to other shards,
 * so the shards' counts add up to a single process's.
 */
export class ShardedIngest {
  private pending = 0;
  left = 0;
  readonly ctx: StageContext;

  constructor(
    private readonly inner: StageContext,
    readonly partition: Partition,
  ) {
    const emit = async (record: PipelineRecord): Promise<void> => {
      if (!this.settle(partition.ownsTask(record.task_id))) return;
      await inner.emit(record);
    };
    const emitSerialized: StageContext['emitSerialized'] = async (serialized) => {
      if (!this.settle(partition.ownsTask(serialized.task_id))) return;
      await inner.emitSerialized(serialized);
    };
    const reject = async (r: RejectInput): Promise<void> => {
      const owned = r.task_id ? partition.ownsTask(r.task_id) : partition.ownsUnidentified(r.file ?? '', r.record ?? null);
      if (!this.settle(owned)) return;
      await inner.reject(r);
    };
    const countIn = (n = 1): void => {
      this.pending += n;
    };
    this.ctx = new Proxy(inner, {
      get: (target, key) => (key === 'emit' ? emit : key === 'emitSerialized' ? emitSerialized : key === 'reject' ? reject : key === 'countIn' ? countIn : Reflect.get(target, key, target)),
    });
  }

  /** Early out before the costly part (redaction): true when the run is another shard's (it is then settled). */
  leaveIfForeign(taskId: string): boolean {
    if (this.partition.ownsTask(taskId)) return false;
    this.settle(false);
    return true;
  }

  private settle(owned: boolean): boolean {
    const n = this.pending;
    this.pending = 0;
    if (owned) this.inner.countIn(n);
    else this.left += n;
    return owned;
  }

  finish(): void {
    if (this.pending) this.inner.countIn(this.pending);
    this.pending = 0;
    const p = this.partition;
    this.inner.setStat('shard', { index: p.index, count: p.count, buckets: p.buckets, bucket_range: [p.range.lo, p.range.hi], records_left_to_other_shards: this.left });
  }
}

export function ingestPartition(config: PipelineConfig): Partition | null {
  return config.shard ? new Partition(config.shard.index, config.shard.count, config.export.shard.buckets) : null;
}

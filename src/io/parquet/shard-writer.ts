import { createReadStream } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import type { OutputFile } from '../../../schemas/index.js';
import { zstdCompressor } from './zstd.js';
import type { TaskPool } from '../../workers/pool.js';
import { appendGroup, type EncodedGroup } from './encode-group.js';

export interface ShardOptions {
  dir: string;
  /** File name prefix, e.g. "train": shards are <prefix>-00000-of-00003.parquet. */
  prefix: string;
  schema: SchemaElement[];
  columns: readonly string[];
  maxRows: number;
  targetBytes: number;
  rowGroupRows: number;
  /** A row group is also closed once this many uncompressed bytes are buffered, so memory stays bounded. */
  rowGroupBytes: number;
  zstdLevel: number;
  kvMetadata: { key: string; value: string }[];
  createdBy: string;
  /** With threads, row groups are encoded and compressed in workers, a few at once, and appended in order. */
  pool?: TaskPool;
  /**
   * Shared by the writers of one stage (export has one per task bucket): how many groups may be in a worker
   * at once over all of them, so the rows held in flight stay a few groups whatever the bucket count.
   */
  slots?: EncodeSlots;
}

/** A counting semaphore for groups being encoded in workers. */
export class EncodeSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Streams rows into zstd Parquet shards with one fixed schema, holding at most one row group in memory.
 * Shards are named with their final count once it is known (the HF `-of-` convention).
 */
export class ShardWriter {
  private compress: ((b: Uint8Array) => Uint8Array) | null = null;
  private writer: ParquetWriter | null = null;
  private file: string | null = null;
  private group: Record<string, unknown>[] = [];
  private groupBytes = 0;
  private shardRows = 0;
  private shardBytes = 0;
  private readonly finished: { tmp: string; rows: number }[] = [];
  /** Groups encoded in workers are appended in order on this chain. */
  private appended: Promise<void> = Promise.resolve();
  private unslotted = 0;

  constructor(private readonly opts: ShardOptions) {}

  async write(row: Record<string, unknown>, approxBytes: number): Promise<void> {
    if (this.writer && (this.shardRows >= this.opts.maxRows || this.shardBytes >= this.opts.targetBytes)) {
      await this.closeShard();
    }
    if (!this.writer) await this.openShard();
    this.group.push(row);
    this.groupBytes += approxBytes;
    this.shardRows++;
    this.shardBytes += approxBytes;
    if (this.group.length >= this.opts.rowGroupRows || this.groupBytes >= this.opts.rowGroupBytes) await this.flushGroup();
  }

  private async openShard(): Promise<void> {
    this.compress ??= await zstdCompressor(this.opts.zstdLevel);
    this.file = join(this.opts.dir, `.${this.opts.prefix}-${String(this.finished.length).padStart(5, '0')}.parquet.partial`);
    this.writer = new ParquetWriter({
      writer: fileWriter(this.file),
      schema: this.opts.schema,
      codec: 'ZSTD',
      compressors: { ZSTD: this.compress },
      kvMetadata: this.opts.kvMetadata,
      createdBy: this.opts.createdBy,
    });
    this.shardRows = 0;
    this.shardBytes = 0;
  }

  private async flushGroup(): Promise<void> {
    if (!this.writer || this.group.length === 0) return;
    const pool = this.opts.pool;
    if (pool && pool.threads > 0) {
      const { schema, columns, zstdLevel } = this.opts;
      const rows = this.group;
      const which = `a row group of ${this.file} (${rows.length} rows from ${String(rows[0]?.['id'])})`;
      const slots = this.opts.slots;
      if (slots) await slots.acquire();
      const encoded = pool
        .run('parquet.encode-group', { schema, columns, rows, zstdLevel })
        .finally(() => slots?.release())
        .catch((err: unknown) => {
          throw new Error(`encoding ${which} in a worker: ${(err as Error).message}`, { cause: err });
        });
      // Appended in order as soon as each is encoded, so an encoded group never waits in memory for this
      // bucket's next one (the shared slots bound how many are being encoded at once over every writer).
      const writer = this.writer;
      this.appended = this.appended.then(async () => appendGroup(writer, await encoded));
      this.appended.catch(() => {}); // thrown at close (closeShard awaits it); not unhandled meanwhile
      this.group = [];
      this.groupBytes = 0;
      // Without shared slots, at most threads + 1 groups of this writer in flight.
      if (!slots && ++this.unslotted > pool.threads + 1) {
        await this.appended;
        this.unslotted = 0;
      }
      return;
    }
    const columnData = this.opts.columns.map((name) => ({ name, data: this.group.map((r) => r[name]) }));
    this.writer.write({ columnData: columnData as never, rowGroupSize: this.group.length });
    this.group = [];
    this.groupBytes = 0;
  }

  /** Sends the last, partly filled group to be encoded (the writers of a stage all do so before any closes). */
  async flushPending(): Promise<void> {
    await this.flushGroup();
  }


  private async closeShard(): Promise<void> {
    if (!this.writer || !this.file) return;
    await this.flushGroup();
    await this.appended;
    await this.writer.finish();
    this.finished.push({ tmp: this.file, rows: this.shardRows });
    this.writer = null;
    this.file = null;
  }

  /** Finishes the last shard, renames all to their final names and returns them with row counts and hashes. */
  async close(): Promise<OutputFile[]> {
    // No row at all still gives one (empty) shard with the schema, so a reader's glob always finds the table.
    if (this.finished.length === 0 && !this.writer) await this.openShard();
    await this.closeShard();
    const total = this.finished.length;
    const outputs: OutputFile[] = [];
    for (const [i, f] of this.finished.entries()) {
      const name = `${this.opts.prefix}-${String(i).padStart(5, '0')}-of-${String(total).padStart(5, '0')}.parquet`;
      const final = join(this.opts.dir, name);
      await rename(f.tmp, final);
      const { size } = await stat(final);
      outputs.push({ path: name, records: f.rows, bytes: size, sha256: await sha256File(final) });
    }
    return outputs;
  }
}

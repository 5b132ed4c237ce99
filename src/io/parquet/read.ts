import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type FileMetaData } from 'hyparquet';
import { zstdDecompressor } from './zstd.js';

export interface ShardReader {
  metadata: FileMetaData;
  /** Rows one row group at a time, so a large shard is never held whole. */
  rows(columns?: string[]): AsyncGenerator<Record<string, unknown>>;
}

/** Reads a shard with hyparquet: an independent reader of what hyparquet-writer wrote. */
export async function openShard(path: string): Promise<ShardReader> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const zstd = await zstdDecompressor();
  const compressors = { ZSTD: (input: Uint8Array) => zstd(input) };
  return {
    metadata,
    async *rows(columns) {
      let start = 0;
      for (const group of metadata.row_groups) {
        const end = start + Number(group.num_rows);
        const rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end, compressors, ...(columns ? { columns } : {}) });
        for (const r of rows) yield nullify(r) as Record<string, unknown>;
        start = end;
      }
    },
  };
}

/** hyparquet leaves a null nested value undefined; the SFT schema (like DuckDB and pyarrow) says null. */
function nullify(value: unknown): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(nullify);
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = nullify(v);
    return out;
  }
  return value;
}

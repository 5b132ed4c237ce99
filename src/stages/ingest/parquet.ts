import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { zstdDecompressor } from '../../io/parquet/zstd.js';

/**
 * Rows of a Parquet shard, one row group at a time, so memory holds one row group and not the shard.
 * Snappy is built into hyparquet; HF shards also come in gzip, brotli and zstd.
 */
export async function* parquetRows(path: string): AsyncGenerator<{ row: Record<string, unknown>; index: number }> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const zstd = await zstdDecompressor();
  const compressors = {
    GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
    BROTLI: (input: Uint8Array) => new Uint8Array(brotliDecompressSync(input)),
    ZSTD: (input: Uint8Array) => zstd(input),
  };
  let start = 0;
  let index = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    const rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end, compressors });
    for (const row of rows) yield { row: row as Record<string, unknown>, index: index++ };
    start = end;
  }
}

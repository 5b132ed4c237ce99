import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { RowGroup, SchemaElement } from 'hyparquet';
import { zstdCompressor } from './zstd.js';

/** The PAR1 magic a ParquetWriter writes first: an encoded group's offsets start after it. */
const MAGIC_BYTES = 4;

export interface GroupInput {
  schema: SchemaElement[];
  columns: readonly string[];
  rows: Record<string, unknown>[];
  zstdLevel: number;
}

/** One row group's pages (encoded and zstd-compressed), with its metadata as if written right after the magic. */
export interface EncodedGroup {
  bytes: Uint8Array;
  rowGroup: RowGroup;
  indexes: ParquetWriter['pendingIndexes'];
}

const compressors = new Map<number, Promise<(b: Uint8Array) => Uint8Array>>();

/**
 * Encodes one row group exactly as ShardWriter's in-thread path does (the same ParquetWriter code, on a
 * file of its own), so a worker can do the costly part: page encoding and zstd. appendGroup then moves
 * its offsets to where the bytes land in the shard.
 */
export async function encodeGroup(input: GroupInput): Promise<EncodedGroup> {
  let compress = compressors.get(input.zstdLevel);
  if (!compress) compressors.set(input.zstdLevel, (compress = zstdCompressor(input.zstdLevel)));
  const out = new ByteWriter();
  const writer = new ParquetWriter({ writer: out, schema: input.schema, codec: 'ZSTD', compressors: { ZSTD: await compress } });
  const columnData = input.columns.map((name) => ({ name, data: input.rows.map((r) => r[name]) }));
  writer.write({ columnData: columnData as never, rowGroupSize: input.rows.length });
  return { bytes: out.getBytes().slice(MAGIC_BYTES), rowGroup: writer.row_groups[0]!, indexes: writer.pendingIndexes };
}

/** Appends an encoded group to an open shard, shifting every absolute offset in its metadata by where it lands. */
export function appendGroup(writer: ParquetWriter, group: EncodedGroup): void {
  const delta = BigInt(writer.writer.offset - MAGIC_BYTES);
  for (const chunk of group.rowGroup.columns) {
    chunk.file_offset += delta;
    const md = chunk.meta_data;
    if (md) {
      md.data_page_offset += delta;
      if (md.dictionary_page_offset !== undefined) md.dictionary_page_offset += delta;
      if (md.index_page_offset !== undefined) md.index_page_offset += delta;
      if (md.bloom_filter_offset !== undefined) md.bloom_filter_offset += delta;
    }
  }
  // One index entry per column chunk, in order; a copy from a worker may have lost their identity.
  group.indexes.forEach((idx, i) => {
    idx.chunk = group.rowGroup.columns[i]!;
    for (const p of idx.offsetIndex?.page_locations ?? []) p.offset += delta;
  });
  writer.writer.appendBytes(group.bytes);
  writer.row_groups.push(group.rowGroup);
  writer.pendingIndexes.push(...group.indexes);
  writer.num_rows += group.rowGroup.num_rows;
}

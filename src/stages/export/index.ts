import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SftRow, SCHEMA_VERSION } from '../../../schemas/index.js';
import type { Stage } from '../../runner/stage.js';
import { ShardWriter } from '../../io/parquet/shard-writer.js';
import { SFT_COLUMNS, SFT_PARQUET_SCHEMA } from '../../io/parquet/sft-schema.js';
import { PACKAGE_VERSION } from '../../runner/version.js';
import { toSftRow, approxRowBytes } from './rows.js';

export const exportStage: Stage = {
  name: 'export',
  summary: 'Writes zstd Parquet SFT shards with per-message loss masks, a manifest and a dataset card.',
  version: '1',
  configSlice: (config) => config.export,
  async run(ctx) {
    const cfg = ctx.config.export;
    const dataDir = join(ctx.dir, 'data');
    await mkdir(dataDir, { recursive: true });
    const shards = new ShardWriter({
      dir: dataDir,
      prefix: 'train',
      schema: SFT_PARQUET_SCHEMA,
      columns: SFT_COLUMNS,
      maxRows: cfg.shard.max_rows,
      targetBytes: cfg.shard.target_bytes,
      rowGroupRows: cfg.row_group_rows,
      rowGroupBytes: 64 * 1024 * 1024,
      zstdLevel: cfg.zstd_level,
      kvMetadata: [
        { key: 'trajpipe.schema_version', value: SCHEMA_VERSION },
        { key: 'trajpipe.pipeline_version', value: PACKAGE_VERSION },
      ],
      createdBy: `trajpipe ${PACKAGE_VERSION} (hyparquet-writer)`,
    });
    for await (const record of ctx.records()) {
      const row = SftRow.safeParse(toSftRow(record));
      if (!row.success) {
        const i = row.error.issues[0];
        await ctx.reject({
          reason: 'invalid-sft-row',
          message: `Record ${record.id} cannot be exported: ${i?.path.join('.')}: ${i?.message}.`,
          id: record.id,
          task_id: record.task_id,
          file: record.source.file,
          record: record.source.record,
        });
        continue;
      }
      ctx.count('rows_by_outcome', row.data.outcome);
      await shards.write(row.data, approxRowBytes(row.data));
    }
    for (const out of await shards.close()) ctx.addOutput({ ...out, path: `data/${out.path}` });
  },
};

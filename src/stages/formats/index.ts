import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FormatTarget } from '../../../schemas/index.js';
import type { Stage, StageContext } from '../../runner/stage.js';
import { openShard } from '../../io/parquet/read.js';
import { toConversation, type Conversation } from './conversation.js';
import type { TargetWriter } from './target.js';
import { slimeWriter } from './slime.js';
import { nemoRlWriter } from './nemo-rl.js';
import { verlWriter } from './verl.js';
import { axolotlWriter, msSwiftWriter } from './shard-targets.js';
import { llamaFactoryWriter } from './llamafactory.js';
import { trlWriter } from './trl.js';
import { renderFormatsIndex } from './index-card.js';

function writerFor(target: FormatTarget, dir: string, ctx: StageContext): TargetWriter {
  switch (target) {
    case 'verl':
      return verlWriter(dir, { maxRows: ctx.config.export.shard.max_rows, zstdLevel: ctx.config.export.zstd_level });
    case 'slime':
      return slimeWriter(dir);
    case 'nemo-rl':
      return nemoRlWriter(dir);
    case 'llamafactory':
      return llamaFactoryWriter(dir);
    case 'trl':
      return trlWriter(dir);
    case 'axolotl':
      return axolotlWriter();
    case 'ms-swift':
      return msSwiftWriter();
  }
}

/** The export's rows, one shard at a time (the export folder is read by path: formats' upstream may be another stage). */
async function* exportRows(ctx: StageContext): AsyncGenerator<Conversation> {
  const exp = ctx.readStage('export');
  for (const out of exp.manifest.outputs) {
    if (!out.path.endsWith('.parquet')) continue;
    const shard = await openShard(join(exp.dir, out.path));
    for await (const row of shard.rows()) yield toConversation(row);
  }
}

export const formatsStage: Stage = {
  name: 'formats',
  summary: "Writes the export again in each trainer's native form (veRL, slime, NeMo-RL, LLaMA-Factory, TRL, axolotl, ms-swift).",
  version: '1',
  readsStages: ['export'],
  configSlice: (config) => (config.formats.enabled ? { ...config.formats, shard: config.export.shard.max_rows, zstd: config.export.zstd_level } : { enabled: false }),
  async run(ctx) {
    const cfg = ctx.config.formats;
    if (!cfg.enabled) return;
    const targets = [...new Set(cfg.targets)];
    const writers: TargetWriter[] = [];
    for (const t of targets) {
      const dir = join(ctx.dir, t);
      await mkdir(dir, { recursive: true });
      writers.push(writerFor(t, dir, ctx));
    }
    // veRL needs one Parquet type for every row's tools before it writes the first row.
    const observers = writers.filter((w) => w.observe);
    if (observers.length) for await (const c of exportRows(ctx)) for (const w of observers) w.observe!(c);

    const writing = writers.filter((w) => !w.reference);
    if (writing.length) {
      for await (const c of exportRows(ctx)) {
        for (const w of writing) {
          ctx.countIn();
          const skip = await w.write(c);
          if (skip) {
            ctx.count('skipped_rows', w.name);
            const file = typeof c.metadata.source_file === 'string' ? c.metadata.source_file : null;
            const record = typeof c.metadata.source_record === 'number' ? c.metadata.source_record : null;
            await ctx.reject({ reason: skip.reason, message: file ? `${skip.message} (run from ${file} record ${record})` : skip.message, id: c.id, task_id: c.task_id, file, record });
          }
        }
      }
    }
    const summary: { target: FormatTarget; rows: number; files: string[]; stats: Record<string, number> }[] = [];
    for (const w of writers) {
      const { files, card } = await w.close();
      for (const f of files) ctx.addOutput({ ...f, path: `${w.name}/${f.path}` });
      await writeFile(join(ctx.dir, w.name, 'README.md'), card);
      ctx.setStat(w.name, { rows: files.reduce((a, f) => a + f.records, 0), ...w.stats });
      summary.push({ target: w.name, rows: files.reduce((a, f) => a + f.records, 0), files: files.map((f) => f.path), stats: w.stats });
    }
    await writeFile(join(ctx.dir, 'README.md'), renderFormatsIndex(ctx.config.name, summary, ctx.readStage('export').manifest.records_out));
  },
};

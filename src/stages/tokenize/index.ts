import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PipelineConfig } from '../../../schemas/index.js';
import type { Stage, StageContext } from '../../runner/stage.js';
import { openShard } from '../../io/parquet/read.js';
import { ShardWriter } from '../../io/parquet/shard-writer.js';
import { PACKAGE_VERSION } from '../../runner/version.js';
import { UserError } from '../../core/errors.js';
import { loadChatTokenizer } from './template.js';
import { argumentsAsObject } from './messages.js';
import { generationPrompt } from './spans.js';
import { tokenizeRow, type ExportRow, type RowSettings } from './row.js';
import { Packer } from './pack.js';
import { PACKED_COLUMNS, PACKED_SCHEMA, TOKENIZED_COLUMNS, TOKENIZED_SCHEMA, type TokenizedRow } from './schema.js';
import { emptyTokenizeTally, renderTokenizeCard, type TokenizeTally } from './card.js';

/** The tokenizer folder: tokenize.tokenizer, else the pipeline's Hugging Face tokenizer; null: nothing to do. */
export function tokenizerDir(config: PipelineConfig): string | null {
  if (!config.tokenize.enabled) return null;
  return config.tokenize.tokenizer ?? (config.tokenizer.kind === 'huggingface' ? config.tokenizer.path : null);
}

const slice = (config: PipelineConfig) => ({ ...config.tokenize, tokenizer: tokenizerDir(config) });

function shardWriter(dir: string, cfg: PipelineConfig['tokenize'], packed: boolean): ShardWriter {
  return new ShardWriter({
    dir,
    prefix: 'train',
    schema: packed ? PACKED_SCHEMA : TOKENIZED_SCHEMA,
    columns: packed ? PACKED_COLUMNS : TOKENIZED_COLUMNS,
    maxRows: cfg.shard_max_rows,
    targetBytes: 256 * 1024 * 1024,
    rowGroupRows: cfg.row_group_rows,
    rowGroupBytes: 64 * 1024 * 1024,
    zstdLevel: 3,
    kvMetadata: [{ key: 'trajpipe.pipeline_version', value: PACKAGE_VERSION }],
    createdBy: `trajpipe ${PACKAGE_VERSION} (hyparquet-writer)`,
  });
}

/** 4 bytes per id in each of three lists: what the row group buffers. */
const rowBytes = (r: { num_tokens: number }) => 12 * r.num_tokens + 128;

/** The export rows, shard by shard in the order export wrote them (its folder is a sibling of this one). */
async function* exportRows(ctx: StageContext): AsyncGenerator<{ row: ExportRow; file: string; index: number }> {
  const upstream = ctx.upstream;
  if (!upstream) return;
  const dir = join(dirname(ctx.dir), upstream.stage);
  for (const out of upstream.outputs) {
    if (!out.path.endsWith('.parquet')) continue;
    const file = join(dir, out.path);
    const shard = await openShard(file);
    let index = 0;
    for await (const r of shard.rows(['id', 'task_id', 'outcome', 'messages', 'tools'])) yield { row: r as unknown as ExportRow, file, index: index++ };
  }
}

export const tokenizeStage: Stage = {
  name: 'tokenize',
  summary: "Renders every exported row with the student's chat template and writes input_ids / labels / attention_mask shards (and optionally packed ones).",
  version: '1',
  configSlice: slice,
  dependencyFiles(config) {
    const dir = tokenizerDir(config);
    if (!dir) return [];
    return ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'].map((f) => join(dir, f)).filter((f, i) => i < 2 || existsSync(f));
  },
  async run(ctx) {
    const cfg = ctx.config.tokenize;
    const dir = tokenizerDir(ctx.config);
    if (!dir) {
      ctx.setStat('skipped', cfg.enabled ? 'no Hugging Face tokenizer folder configured (tokenize.tokenizer or tokenizer.path)' : 'tokenize.enabled is false');
      return;
    }
    const tok = await loadChatTokenizer(dir);
    const endOfTurn = cfg.end_of_turn ?? tok.eosToken;
    if (!endOfTurn) throw new UserError(`tokenize.end_of_turn: ${dir} sets no eos_token, so say which text ends an assistant turn.`);
    const settings: RowSettings = {
      tok,
      prompt: generationPrompt(tok, cfg.chat_template_kwargs),
      endOfTurn,
      argumentsMode: cfg.tool_arguments,
      kwargs: cfg.chat_template_kwargs,
      maxSeqLen: cfg.max_seq_len,
    };
    const dataDir = join(ctx.dir, 'data');
    await mkdir(dataDir, { recursive: true });
    const shards = shardWriter(dataDir, cfg, false);
    let packedShards: ShardWriter | null = null;
    let packer: Packer | null = null;
    let sequences = 0;
    if (cfg.packing && cfg.max_seq_len !== null) {
      await mkdir(join(ctx.dir, 'packed'), { recursive: true });
      const writer = (packedShards = shardWriter(join(ctx.dir, 'packed'), cfg, true));
      packer = new Packer(cfg.max_seq_len, async (p) => {
        sequences++;
        await writer.write(p, rowBytes(p));
      });
    }
    const tally: TokenizeTally = emptyTokenizeTally();
    const dropped: Record<string, number> = {};
    for await (const { row, file, index } of exportRows(ctx)) {
      ctx.countIn();
      const result = tokenizeRow(row, settings);
      if ('reason' in result) {
        dropped[result.reason] = (dropped[result.reason] ?? 0) + 1;
        await ctx.reject({ reason: result.reason, message: `Row ${row.id} (task ${row.task_id}, ${file} row ${index}) is not tokenized: ${result.message}.`, id: row.id, task_id: row.task_id, file, record: index });
        continue;
      }
      tallyRow(tally, result.row, result.untruncatedTokens);
      await shards.write(result.row, rowBytes(result.row));
      await packer?.add(result.row);
    }
    await packer?.close();
    const outputs = await shards.close();
    for (const out of outputs) ctx.addOutput({ ...out, path: `data/${out.path}` });
    // Packed shards hold several rows each, so they are not registered outputs (outputs count rows); their hashes are in the stats.
    const packedFiles = packedShards ? (await packedShards.close()).map((o) => ({ ...o, path: `packed/${o.path}` })) : null;
    ctx.setStat('tokenizer', dir);
    ctx.setStat('tokens_by_outcome', Object.fromEntries(Object.entries(tally.byOutcome).map(([k, v]) => [k, { rows: v.rows, tokens: v.tokens, trained_tokens: v.trainedTokens }])));
    ctx.setStat('trained_tokens', Object.values(tally.byOutcome).reduce((a, v) => a + v.trainedTokens, 0));
    ctx.setStat('truncated_rows', tally.truncated);
    if (packedFiles) ctx.setStat('packed', { sequences, files: packedFiles });
    const card = renderTokenizeCard({
      tokenizer: dir,
      generationPrompt: settings.prompt,
      endOfTurn,
      objectArguments: argumentsAsObject(tok, cfg.tool_arguments),
      maxSeqLen: cfg.max_seq_len,
      tally,
      dropped,
      shards: outputs.map((o) => ({ ...o, path: `data/${o.path}` })),
      packed: packedFiles ? { files: packedFiles, sequences } : null,
    });
    await writeFile(join(ctx.dir, 'README.md'), card);
  },
};

function tallyRow(t: TokenizeTally, row: TokenizedRow, untruncated: number): void {
  const o = (t.byOutcome[row.outcome] ??= { rows: 0, tokens: 0, trainedTokens: 0 });
  o.rows++;
  o.tokens += row.num_tokens;
  o.trainedTokens += row.trained_tokens;
  if (row.truncated) {
    t.truncated++;
    t.tokensCut += untruncated - row.num_tokens;
  }
  t.maxTokens = Math.max(t.maxTokens, row.num_tokens);
}

import type { PackedRow, TokenizedRow } from './schema.js';

/** Packs open at once: a row goes into the first open pack it fits; more than this many and the oldest is closed. */
const OPEN_PACKS = 16;

/**
 * Packs rows into sequences of at most maxSeqLen tokens, in the padding-free form TRL's
 * DataCollatorWithFlattening / flash-attention varlen path reads: the rows' ids concatenated and
 * position_ids restarting at 0 for each row (transformers derives cu_seqlens from those restarts, so a
 * row never attends to its neighbour). Bounded first-fit over a window of open packs, in input order:
 * memory stays bounded and the result is deterministic.
 */
export class Packer {
  private open: PackedRow[] = [];

  constructor(
    private readonly maxSeqLen: number,
    private readonly emit: (row: PackedRow) => Promise<void>,
  ) {}

  async add(row: TokenizedRow): Promise<void> {
    let pack = this.open.find((p) => p.num_tokens + row.num_tokens <= this.maxSeqLen);
    if (!pack) {
      pack = { input_ids: [], labels: [], position_ids: [], seq_lengths: [], ids: [], num_tokens: 0, trained_tokens: 0 };
      this.open.push(pack);
      if (this.open.length > OPEN_PACKS) await this.emit(this.open.shift()!);
    }
    for (let i = 0; i < row.num_tokens; i++) {
      pack.input_ids.push(row.input_ids[i]!);
      pack.labels.push(row.labels[i]!);
      pack.position_ids.push(i);
    }
    pack.seq_lengths.push(row.num_tokens);
    pack.ids.push(row.id);
    pack.num_tokens += row.num_tokens;
    pack.trained_tokens += row.trained_tokens;
  }

  async close(): Promise<void> {
    for (const p of this.open) await this.emit(p);
    this.open = [];
  }
}

import type { FormatTarget, OutputFile } from '../../../schemas/index.js';
import type { Conversation } from './conversation.js';

/** Why a row is not written in a format (it would not train exactly what the export says). */
export interface Skip {
  reason: string;
  message: string;
}

/** One trainer's writer. Rows arrive in export order; a writer either writes a row or says why not. */
export interface TargetWriter {
  readonly name: FormatTarget;
  /** Reads the export's shards as they are: rows are only observed, nothing is copied or counted. */
  readonly reference?: boolean;
  /** Optional first pass over every row (veRL infers one Parquet type for all rows' tools). */
  observe?(conv: Conversation): void;
  write(conv: Conversation): Promise<Skip | null>;
  /** Finishes the files (paths relative to the target folder) and returns the folder's README.md. */
  close(): Promise<{ files: OutputFile[]; card: string }>;
  /** Numbers for the manifest and the card (trimmed rows, rows with reasoning, ...). */
  readonly stats: Record<string, number>;
}

export function bump(stats: Record<string, number>, key: string, n = 1): void {
  stats[key] = (stats[key] ?? 0) + n;
}

import { join } from 'node:path';
import { JsonlWriter } from '../io/jsonl.js';
import type { OutputFile } from '../../schemas/index.js';

/** Where a line was written: its part file (relative to the stage folder), byte offset and length without the newline. */
export interface LineLocation {
  part: string;
  offset: number;
  bytes: number;
}

/** Writes records to part-00000.jsonl, part-00001.jsonl, ... rotating by record count and bytes. */
export class PartWriter {
  private current: JsonlWriter | null = null;
  private next = 0;
  readonly outputs: OutputFile[] = [];

  constructor(
    private readonly dir: string,
    private readonly maxRecords: number,
    private readonly maxBytes: number,
  ) {}

  async write(record: unknown): Promise<void> {
    await this.writeLine(JSON.stringify(record));
  }

  /** Appends one already-serialised JSON line (no trailing newline), as text or as its UTF-8 bytes; says where it went. */
  async writeLine(line: string | Uint8Array): Promise<LineLocation> {
    if (this.current && (this.current.records >= this.maxRecords || this.current.bytes >= this.maxBytes)) {
      await this.closeCurrent();
    }
    if (!this.current) {
      const name = `part-${String(this.next++).padStart(5, '0')}.jsonl`;
      this.current = await JsonlWriter.create(join(this.dir, name));
    }
    const w = this.current;
    const offset = w.bytes;
    if (typeof line === 'string') await w.writeLine(line);
    else await w.writeBytes(line);
    return { part: w.path.slice(this.dir.length + 1), offset, bytes: w.bytes - offset - 1 };
  }

  private async closeCurrent(): Promise<void> {
    if (!this.current) return;
    const w = this.current;
    this.current = null;
    const sha256 = await w.close();
    this.outputs.push({ path: w.path.slice(this.dir.length + 1), records: w.records, bytes: w.bytes, sha256 });
  }

  async close(): Promise<OutputFile[]> {
    await this.closeCurrent();
    return this.outputs;
  }
}

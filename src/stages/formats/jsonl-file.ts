import { basename } from 'node:path';
import type { OutputFile } from '../../../schemas/index.js';
import { JsonlWriter } from '../../io/jsonl.js';

/** A JSON lines output opened on first write, so a format with no rows writes no empty file. */
export class JsonlOutput {
  private writer: JsonlWriter | null = null;
  constructor(private readonly path: string) {}

  async write(value: unknown): Promise<void> {
    this.writer ??= await JsonlWriter.create(this.path);
    await this.writer.write(value);
  }

  async close(): Promise<OutputFile[]> {
    if (!this.writer) return [];
    const sha256 = await this.writer.close();
    return [{ path: basename(this.path), records: this.writer.records, bytes: this.writer.bytes, sha256 }];
  }
}

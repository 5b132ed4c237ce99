import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';

export interface Line {
  /** 0-based line number among non-empty lines. */
  index: number;
  text: string;
}

/**
 * Streams the lines of a file without holding more than one line and one read buffer in memory.
 * A final line without a newline is still yielded (a truncated file shows up as bad JSON downstream,
 * never as silent loss). Blank lines are skipped but keep the numbering of the others stable.
 */
export async function* readLines(path: string, highWaterMark = 1 << 20): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let index = 0;
  for await (const chunk of createReadStream(path, { highWaterMark })) {
    const text = carry + decoder.write(chunk as Buffer);
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) !== -1) {
      const line = text.slice(start, nl).replace(/\r$/, '');
      start = nl + 1;
      if (line.trim() !== '') yield { index: index++, text: line };
    }
    carry = text.slice(start);
  }
  carry += decoder.end();
  if (carry.trim() !== '') yield { index: index++, text: carry.replace(/\r$/, '') };
}

/** Appends JSON lines to a file, hashing and counting as it goes; buffered to keep syscalls few. */
export class JsonlWriter {
  private buffered: string[] = [];
  private bufferedBytes = 0;
  private readonly hash: Hash = createHash('sha256');
  records = 0;
  bytes = 0;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  static async create(path: string): Promise<JsonlWriter> {
    return new JsonlWriter(path, await open(path, 'w'));
  }

  async write(value: unknown): Promise<void> {
    await this.writeLine(JSON.stringify(value));
  }

  async writeLine(text: string): Promise<void> {
    const line = text + '\n';
    const n = Buffer.byteLength(line);
    this.buffered.push(line);
    this.bufferedBytes += n;
    this.bytes += n;
    this.records++;
    if (this.bufferedBytes >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffered.length === 0) return;
    const buf = Buffer.from(this.buffered.join(''));
    this.buffered = [];
    this.bufferedBytes = 0;
    this.hash.update(buf);
    await this.fh.write(buf);
  }

  /** Flushes, fsyncs and closes; returns the sha256 of everything written. */
  async close(): Promise<string> {
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
    return this.hash.digest('hex');
  }
}

import { open, type FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { decodeUtf8 } from '../core/text.js';

export interface Line {
  /** 0-based number among non-empty lines. */
  index: number;
  /** 1-based line number in the file, blank lines included (what an editor or `sed -n Np` shows). */
  line: number;
  text: string;
  /** Invalid UTF-8 sequences replaced by U+FFFD in this line. */
  invalidUtf8: number;
}

/** A line longer than the cap: skipped up to its newline without being held in memory. */
export interface OverlongLine {
  overlong: true;
  line: number;
  /** Its length in bytes (without the newline). */
  bytes: number;
}

export interface ScanOptions {
  /** Longest line yielded as text; longer ones come out as OverlongLine. */
  maxLineBytes?: number;
  highWaterMark?: number;
}

/** A line's bytes (its own ArrayBuffer, so it can be transferred to a worker thread), not decoded. */
export interface RawLine {
  index: number;
  line: number;
  /** Where the line starts in the file (bytes). */
  offset: number;
  bytes: Uint8Array;
}

/**
 * Streams the lines of a file holding at most one line (up to maxLineBytes) and one read buffer in
 * memory. Lines are split on bytes and decoded whole, so a character split across read buffers is
 * never damaged. A final line without a newline is still yielded (a truncated file shows up as bad
 * JSON downstream, never as silent loss). Blank lines are skipped but counted in `line`.
 */
export function scanLines(path: string, opts: ScanOptions = {}): AsyncGenerator<Line | OverlongLine> {
  return scan(path, opts, (buf, line, index, _offset) => {
    const { text, invalid } = decodeUtf8(buf);
    return text.trim() === '' ? null : { index, line, text, invalidUtf8: invalid };
  });
}

/** scanLines without decoding: each line's bytes, copied out of the read buffer (decoded where they are parsed). */
export function scanRawLines(path: string, opts: ScanOptions = {}): AsyncGenerator<RawLine | OverlongLine> {
  return scan(path, opts, (buf, line, index, offset) => (isBlank(buf) ? null : { index, line, offset, bytes: new Uint8Array(buf) }));
}

/** What String.prototype.trim() would leave empty, decided on the bytes (a line usually starts with "{"). */
function isBlank(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return decodeUtf8(buf).text.trim() === '';
    if (b !== 0x20 && (b < 0x09 || b > 0x0d)) return false;
  }
  return true;
}

async function* scan<T extends { index: number }>(
  path: string,
  opts: ScanOptions,
  make: (buf: Buffer, line: number, index: number, offset: number) => T | null,
): AsyncGenerator<T | OverlongLine> {
  const max = opts.maxLineBytes ?? Number.POSITIVE_INFINITY;
  let pieces: Buffer[] = [];
  let pending = 0;
  let skipping = false;
  let skipped = 0;
  let lineNo = 0;
  let index = 0;
  /** File offset of the current line's first byte, and of the current read buffer. */
  let lineStart = 0;
  let chunkStart = 0;
  const take = (): T | null => {
    let buf = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, pending);
    pieces = [];
    pending = 0;
    if (buf.length && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
    const made = make(buf, lineNo, index, lineStart);
    if (made) index++;
    return made;
  };
  // One read buffer, reused: a line is decoded (copied out) before the next read overwrites it, and only
  // the part of a line that spans reads is copied, so memory does not grow with GC lag on a huge line.
  const buffer = Buffer.allocUnsafe(opts.highWaterMark ?? 1 << 20);
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      let start = 0;
      chunkStart += bytesRead;
      const base = chunkStart - bytesRead;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl === -1 ? chunk.length : nl;
        const n = end - start;
        if (skipping) skipped += n;
        else if (pending + n > max) {
          skipping = true;
          skipped = pending + n;
          pieces = [];
          pending = 0;
        } else if (n > 0) {
          // A piece that will outlive this read is copied; one that ends here is decoded at once.
          pieces.push(nl === -1 ? Buffer.from(chunk.subarray(start, end)) : chunk.subarray(start, end));
          pending += n;
        }
        if (nl === -1) break;
        lineNo++;
        if (skipping) {
          yield { overlong: true, line: lineNo, bytes: skipped };
          skipping = false;
          skipped = 0;
        } else {
          const l = take();
          if (l) yield l;
        }
        start = nl + 1;
        lineStart = base + start;
      }
    }
  } finally {
    await fh.close();
  }
  if (skipping) yield { overlong: true, line: lineNo + 1, bytes: skipped };
  else if (pending > 0) {
    lineNo++;
    const l = take();
    if (l) yield l;
  }
}

/** Lines of a file with no length cap (files this program wrote, small lists). */
export async function* readLines(path: string, highWaterMark = 1 << 20): AsyncGenerator<Line> {
  for await (const l of scanLines(path, { highWaterMark })) if (!('overlong' in l)) yield l;
}

/** Appends JSON lines to a file, hashing and counting as it goes; buffered to keep syscalls few. */
export class JsonlWriter {
  /** Lines not written yet: text, or bytes passed on as read (never re-encoded). */
  private buffered: (string | Uint8Array)[] = [];
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
    const n = Buffer.byteLength(text) + 1;
    this.buffered.push(text + '\n');
    await this.added(n);
  }

  /** One line given as its UTF-8 bytes, without the newline. */
  async writeBytes(line: Uint8Array): Promise<void> {
    this.buffered.push(line, NEWLINE);
    await this.added(line.byteLength + 1);
  }

  private async added(n: number): Promise<void> {
    this.bufferedBytes += n;
    this.bytes += n;
    this.records++;
    if (this.bufferedBytes >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffered.length === 0) return;
    // Runs of text are encoded together; bytes go out as they are.
    const chunks: Uint8Array[] = [];
    let text: string[] = [];
    const endText = () => {
      if (text.length) chunks.push(Buffer.from(text.join('')));
      text = [];
    };
    for (const piece of this.buffered) {
      if (typeof piece === 'string') text.push(piece);
      else {
        endText();
        chunks.push(piece);
      }
    }
    endText();
    this.buffered = [];
    this.bufferedBytes = 0;
    for (const c of chunks) this.hash.update(c);
    await this.fh.writev(chunks);
  }

  /** Flushes, fsyncs and closes; returns the sha256 of everything written. */
  async close(): Promise<string> {
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
    return this.hash.digest('hex');
  }
}

const NEWLINE = new Uint8Array([0x0a]);

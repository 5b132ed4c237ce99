import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLines, scanLines } from '../../src/io/jsonl.js';
import { tempDir } from '../helpers/cli.js';

async function collect(path: string, maxLineBytes?: number) {
  const out = [];
  for await (const l of scanLines(path, { maxLineBytes, highWaterMark: 16 })) out.push(l);
  return out;
}

describe('scanLines', () => {
  it('numbers lines from 1, counting blank ones, as an editor shows them', async () => {
    const f = join(await tempDir(), 'a.jsonl');
    await writeFile(f, '{"a":1}\n\n  \n{"b":2}\r\n{"c":3}');
    const lines = await collect(f);
    expect(lines).toEqual([
      { index: 0, line: 1, text: '{"a":1}', invalidUtf8: 0 },
      { index: 1, line: 4, text: '{"b":2}', invalidUtf8: 0 },
      { index: 2, line: 5, text: '{"c":3}', invalidUtf8: 0 },
    ]);
  });

  it('skips a line longer than the cap to its newline, says how long it was, and goes on', async () => {
    const f = join(await tempDir(), 'long.jsonl');
    // 16-byte read buffers: the long lines span many of them, and one ends the file without a newline.
    await writeFile(f, `{"ok":1}\n"${'x'.repeat(200)}"\n{"ok":2}\n${'y'.repeat(64)}\n{"ok":3}\n${'z'.repeat(100)}`);
    const lines = await collect(f, 64);
    expect(lines).toEqual([
      { index: 0, line: 1, text: '{"ok":1}', invalidUtf8: 0 },
      { overlong: true, line: 2, bytes: 202 },
      { index: 1, line: 3, text: '{"ok":2}', invalidUtf8: 0 },
      { index: 2, line: 4, text: 'y'.repeat(64), invalidUtf8: 0 }, // exactly the cap is allowed
      { index: 3, line: 5, text: '{"ok":3}', invalidUtf8: 0 },
      { overlong: true, line: 6, bytes: 100 },
    ]);
  });

  it('decodes a character split across read buffers intact and counts invalid UTF-8 per line', async () => {
    const f = join(await tempDir(), 'utf8.jsonl');
    const good = Buffer.from('"' + 'é😀'.repeat(10) + ' \ufffd already"'); // a U+FFFD in the input is not a repair
    const bad = Buffer.concat([Buffer.from('"cut '), Buffer.from([0xff, 0xc3]), Buffer.from(' and '), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"')]);
    await writeFile(f, Buffer.concat([good, Buffer.from('\n'), bad, Buffer.from('\n')]));
    const lines = await collect(f);
    expect(lines[0]).toMatchObject({ line: 1, text: good.toString(), invalidUtf8: 0 });
    expect(lines[1]).toMatchObject({ line: 2, invalidUtf8: 5 }); // ff, c3 (cut), and the three bytes of an encoded surrogate
    expect((lines[1] as { text: string }).text).toBe('"cut \ufffd\ufffd and \ufffd\ufffd\ufffd"');
  });

  it('readLines keeps its contract for the files this program writes', async () => {
    const f = join(await tempDir(), 'p.jsonl');
    await writeFile(f, '{"a":1}\n\n{"b":2}\n');
    const got = [];
    for await (const l of readLines(f)) got.push([l.index, l.line, l.text]);
    expect(got).toEqual([
      [0, 1, '{"a":1}'],
      [1, 3, '{"b":2}'],
    ]);
  });
});

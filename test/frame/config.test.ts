import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseSet } from '../../src/config/load.js';
import { UserError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/cli.js';

async function pipelineFile(text: string): Promise<string> {
  const file = join(await tempDir(), 'p.yaml');
  await writeFile(file, text);
  return file;
}

describe('loadConfig', () => {
  it('fills defaults for every stage section', async () => {
    const { config } = await loadConfig(await pipelineFile('name: t\n'));
    expect(config.export.shard.max_rows).toBeGreaterThan(0);
    expect(config.tokenizer.kind).toBe('tiktoken');
    expect(config.inputs).toEqual([]);
  });

  it('names the file and the key of a value of the wrong type', async () => {
    const file = await pipelineFile('name: t\nexport:\n  zstd_level: high\n');
    await expect(loadConfig(file)).rejects.toThrow(new RegExp(`${file}.*export\\.zstd_level`));
  });

  it('rejects unknown keys, so typos never pass silently', async () => {
    const file = await pipelineFile('name: t\nexport:\n  shards: {}\n');
    await expect(loadConfig(file)).rejects.toThrow(/export: unknown key "shards"/);
  });

  it('reports YAML syntax errors with the line', async () => {
    const file = await pipelineFile('name: t\nexport: [\n');
    await expect(loadConfig(file)).rejects.toThrow(/not valid YAML at line/);
  });

  it('reports a missing pipeline file as a user error', async () => {
    await expect(loadConfig('/nonexistent/p.yaml')).rejects.toBeInstanceOf(UserError);
  });

  it('applies --set with YAML-typed values and validates the result', async () => {
    const file = await pipelineFile('name: t\n');
    const { config } = await loadConfig(file, ['export.shard.max_rows=7', 'inputs=[a, b]', 'filter.decontaminate.ids=[x.ids]']);
    expect(config.export.shard.max_rows).toBe(7);
    expect(config.inputs).toEqual(['a', 'b']);
    expect(config.filter.decontaminate.ids).toEqual(['x.ids']);
    await expect(loadConfig(file, ['export.shard.max_rows=-1'])).rejects.toThrow(/after --set.*export\.shard\.max_rows/);
    await expect(loadConfig(file, ['export.nope=1'])).rejects.toThrow(/unknown key "nope"/);
  });

  it('parses KEY=VALUE with = inside the value', () => {
    expect(parseSet('label.teacher.base_url=http://h/v1?a=b')).toEqual(['label.teacher.base_url', 'http://h/v1?a=b']);
    expect(() => parseSet('novalue')).toThrow(/KEY=VALUE/);
  });
});

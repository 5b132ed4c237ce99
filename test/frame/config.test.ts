import { writeFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
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

  it('suggests the key meant by a typo, at its level or in another section', async () => {
    const file = await pipelineFile('name: t\ndedupe: {}\nlabel:\n  limits:\n    retries: 3\n');
    const err = (await loadConfig(file).then(() => new Error("no error"), (e: unknown) => e)) as Error;
    expect(err.message).toMatch(/unknown key "dedupe" \(did you mean "dedup"\?\)/);
    expect(err.message).toMatch(/label\.limits: unknown key "retries" \(did you mean "max_retries"\?\)/);
    await expect(loadConfig(file.replace(/p\.yaml$/, 'p.yaml'), ['retries=3'])).rejects.toThrow(/"retries" \(did you mean "label\.limits\.max_retries"\?\)/);
    await expect(loadConfig(await pipelineFile('name: t\nzzqqxx: 1\n'))).rejects.toThrow(/unknown key "zzqqxx"\.$/);
  });

  it('accepts a single string for inputs as a one-item list', async () => {
    const { config } = await loadConfig(await pipelineFile('name: t\ninputs: /data/runs\n'));
    expect(config.inputs).toEqual(['/data/runs']);
    const { config: c2 } = await loadConfig(null, ['name=t', 'inputs=/a/b']);
    expect(c2.inputs).toEqual(['/a/b']);
  });

  it("resolves relative paths of a pipeline file against the file's folder, and --set paths against the working directory", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'conf'));
    const file = join(dir, 'conf', 'p.yaml');
    await writeFile(
      file,
      'name: t\ninputs: [runs, "../more/**/*.traj", /abs/x]\nout: ../out\ningest:\n  labels: [results.json]\nfilter:\n  decontaminate:\n    ids: [ids/verified.ids]\n',
    );
    const { config } = await loadConfig(file, ['dedup.semantic.cache_dir=cache/emb']);
    const shown = (p: string) => relative(process.cwd(), p); // displayPath: relative to cwd when inside it, else absolute
    const rel = (p: string) => (shown(p).startsWith('..') ? p : shown(p));
    expect(config.inputs).toEqual([rel(join(dir, 'conf', 'runs')), rel(join(dir, 'more/**/*.traj')), '/abs/x']);
    expect(config.out).toBe(rel(join(dir, 'out')));
    expect(config.ingest.labels).toEqual([rel(join(dir, 'conf', 'results.json'))]);
    expect(config.filter.decontaminate.ids).toEqual([rel(join(dir, 'conf', 'ids/verified.ids'))]);
    expect(config.dedup.semantic.cache_dir).toBe('cache/emb');
  });

  it('the sample pipeline means the same from any working directory', async () => {
    const { config } = await loadConfig(join(process.cwd(), 'pipelines', 'sample.yaml'));
    expect(config.inputs).toEqual(['data/sample']);
    expect(config.out).toBe('data/runs/sample');
  });
});

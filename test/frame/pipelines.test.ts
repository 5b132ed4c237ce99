import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ROOT } from '../helpers/cli.js';

describe('pipeline definitions', () => {
  const files = readdirSync(join(ROOT, 'pipelines')).filter((f) => f.endsWith('.yaml'));

  it('include the sample and the nightly build', () => {
    expect(files).toEqual(expect.arrayContaining(['sample.yaml', 'nightly.yaml']));
  });

  it.each(files)('%s is a valid pipeline config', async (file) => {
    const { config } = await loadConfig(join(ROOT, 'pipelines', file));
    expect(config.name).toBe(file.replace(/\.yaml$/, ''));
  });

  it('the sample build runs offline: no teacher endpoint, no embeddings endpoint', async () => {
    const { config } = await loadConfig(join(ROOT, 'pipelines', 'sample.yaml'));
    expect(config.label.teacher.base_url).toBeNull();
    expect(config.dedup.semantic.enabled).toBe(false);
  });
});

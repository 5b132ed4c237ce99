import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderJsonSchemas } from '../../schemas/json-schema.js';
import { ROOT } from '../helpers/cli.js';

describe('committed JSON Schema', () => {
  const dir = join(ROOT, 'schemas/json');
  const rendered = renderJsonSchemas();

  it.each(Object.keys(rendered))('%s matches the zod schema (run `npm run schemas` if this fails)', (file) => {
    expect(readFileSync(join(dir, file), 'utf8')).toBe(rendered[file]);
  });

  it('has no schema file that the zod schemas no longer produce', () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(rendered).sort());
  });
});

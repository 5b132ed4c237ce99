import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

interface LockPackage {
  optionalDependencies?: Record<string, string>;
}

describe('package-lock.json', () => {
  it('lists every optional dependency, so `npm ci` accepts it (run scripts/complete-lockfile.mjs after npm install)', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
    const missing: string[] = [];
    for (const pkg of Object.values(lock.packages)) {
      for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
        if (!lock.packages[`node_modules/${dep}`]) missing.push(dep);
      }
    }
    expect(missing).toEqual([]);
  });
});

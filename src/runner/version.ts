import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { projectPath, projectRoot } from '../core/paths.js';

export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version;

let cached: string | null = null;
/** "trajpipe 0.1.0 (git abc1234)" for manifests; the git part is informative and never fingerprinted. */
export function codeVersion(): string {
  if (cached) return cached;
  let git = '';
  try {
    git = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: projectRoot(), stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    git = '';
  }
  cached = `trajpipe ${PACKAGE_VERSION}${git ? ` (git ${git})` : ''}`;
  return cached;
}

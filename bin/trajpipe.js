#!/usr/bin/env node
// Runs the TypeScript sources through tsx's loader, so there is no build step to forget.
import { register } from 'tsx/esm/api';

// Until the CLI has loaded (it then installs its own handler, which says what is complete), an
// interrupt can only come before any work.
const early = () => {
  process.stderr.write('\ntrajpipe: interrupted while starting, before any stage ran; nothing was written.\n');
  process.exit(130);
};
process.once('SIGINT', early);
process.once('SIGTERM', early);
globalThis.__trajpipeEarlyInterrupt = early;

register();
await import('../src/cli/main.ts');

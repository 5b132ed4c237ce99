#!/usr/bin/env node
// Starts the CLI from a bundle of the TypeScript sources, rebuilt whenever they change (bin/bundle.mjs), so
// there is no build step to forget; through tsx's loader when the bundle cannot be built or
// TRAJPIPE_NO_BUNDLE=1. TRAJPIPE_BUNDLE_DEBUG=1 says which on stderr. docs/design.md, "Start-up".
import { bundle } from './bundle.mjs';

// libuv's thread pool (file operations, fsync) has 4 threads by default: a label stage keeping 256 requests in
// flight makes ~10 small file operations per answer (cache, claims), and part writes fsync beside them, so
// with 4 threads they queue behind each other. Read once, at the pool's first use, which is after this line.
process.env.UV_THREADPOOL_SIZE ??= '16';

// Until the CLI has loaded (it then installs its own handler, which says what is complete), an
// interrupt can only come before any work.
const early = () => {
  process.stderr.write('\ntrajpipe: interrupted while starting, before any stage ran; nothing was written.\n');
  process.exit(130);
};
process.once('SIGINT', early);
process.once('SIGTERM', early);
globalThis.__trajpipeEarlyInterrupt = early;

const env = (name) => Boolean(process.env[name]) && process.env[name] !== '0';
const debug = env('TRAJPIPE_BUNDLE_DEBUG') ? (line) => process.stderr.write(`trajpipe: start-up: ${line}\n`) : () => {};

let built = null;
if (env('TRAJPIPE_NO_BUNDLE')) debug('tsx (TRAJPIPE_NO_BUNDLE)');
else {
  try {
    built = await bundle();
    debug(`bundle ${built.dir}${built.built === null ? '' : ` (built in ${built.built} ms)`}`);
  } catch (err) {
    debug(`tsx (the bundle could not be built: ${String(err?.message ?? err).split('\n')[0]})`);
  }
}

if (built) {
  // Stack traces name cli.mjs; NODE_OPTIONS=--enable-source-maps maps them to the .ts sources (the bundle's
  // .map files), as tsx does, for ~40 ms more start-up (docs/design.md, "Start-up").
  // Read by src/workers/pool.ts: worker threads load the bundle's worker.mjs too.
  globalThis.__trajpipeWorkerEntry = built.worker;
  await import(built.cli);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}

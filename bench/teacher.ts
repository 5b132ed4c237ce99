// Teacher client throughput. The fake OpenAI-compatible server runs in a process of its own on 127.0.0.1
// (so the CPU measured is the client's alone) and answers after L ms (± jitter).
//
// 1. The label stage itself (runner, ordered window, prompt rendering, token budget, claims, cache, p-limit,
//    retries, answer parsing) over N failed runs at concurrency C, against the ideal N·L/C: the stage's own
//    time, the ratio, the client's CPU per request (process.cpuUsage over the run / requests) and the most
//    requests the server saw in flight (never above C). Default: N=4096, L=2000±200 ms, C=256 (issue 12).
// 2. A table at short latency, where the client's own cost shows: the requester path against bare fetch.
//
//   npx tsx bench/teacher.ts [--n 4096 --latency 2000 --jitter 200 --concurrency 256] [--table] [--no-stage]
import { fork, type ChildProcess } from 'node:child_process';

// As bin/trajpipe.js sets it (read at the thread pool's first use, after the imports below).
process.env.UV_THREADPOOL_SIZE ??= '16';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pLimit from 'p-limit';
import { PipelineConfig } from '../schemas/index.js';
import { loadTokenCounter } from '../src/core/tokenizer.js';
import { TeacherAccounts } from '../src/teacher/accounting.js';
import { ResponseCache } from '../src/teacher/cache.js';
import { CacheClaims } from '../src/teacher/claims.js';
import { createOpenAITransport } from '../src/teacher/client.js';
import { TeacherLabeler } from '../src/teacher/labeler.js';
import { BUILTIN_INSTRUCTIONS } from '../src/teacher/prompt.js';
import { TeacherRequester } from '../src/teacher/requester.js';
import type { FakeTeacherOptions } from '../test/label/fake-teacher.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/runner/log.js';
import { runPipeline } from '../src/runner/runner.js';
import type { Stage } from '../src/runner/stage.js';
import { TEST_STAGES, makeRun } from '../test/label/fixtures.js';
import type { PipelineRecord, StageManifest } from '../schemas/index.js';
import { readFile } from 'node:fs/promises';
import { recordsOf } from '../test/helpers/records.js';

interface ServerStats {
  requests: number;
  distinct: number;
  maxInFlight: number;
  answered: number;
  cpuMs: number;
}

/** The fake teacher in its own process. */
async function startServer(opts: FakeTeacherOptions): Promise<{ url: string; stats: () => Promise<ServerStats>; close: () => Promise<void> }> {
  const file = fileURLToPath(new URL('./fake-teacher-process.ts', import.meta.url));
  const child: ChildProcess = fork(file, [JSON.stringify(opts)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<unknown>((resolve) => child.once('message', resolve));
  const { url } = (await next()) as { url: string };
  return {
    url,
    stats: async () => {
      const reply = next();
      child.send('stats');
      return (await reply) as ServerStats;
    },
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send('close');
      await exited;
    },
  };
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/** The same number of requests sent with bare fetch at concurrency C: what this machine and the server allow. */
async function bareFetchFloor(url: string, bodies: string[], concurrency: number): Promise<{ seconds: number; cpuMsPerRequest: number }> {
  const limit = pLimit(concurrency);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    bodies.map((body) =>
      limit(async () => {
        const r = await fetch(`${url}/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        await r.text();
      }),
    ),
  );
  return { seconds: (performance.now() - started) / 1000, cpuMsPerRequest: cpuMs(process.cpuUsage(cpu)) / bodies.length };
}

export interface TeacherStageBenchOptions {
  n?: number;
  latencyMs?: number;
  jitterMs?: number;
  concurrency?: number;
  /** Also time bare fetch of as many requests (default true). */
  floor?: boolean;
}

export interface TeacherStageBenchResult {
  n: number;
  latencyMs: number;
  jitterMs: number;
  concurrency: number;
  /** The label stage's own time (its manifest). */
  seconds: number;
  idealSeconds: number;
  /** Client CPU (user + system) of the label stage, per request sent. */
  cpuMsPerRequest: number;
  /** The fake server's CPU per request (its own process). */
  serverCpuMsPerRequest: number;
  /** Bare fetch of as many requests at the same C and latency (null: not measured). */
  floor: { seconds: number; cpuMsPerRequest: number } | null;
  requests: number;
  distinct: number;
  maxInFlight: number;
  labelled: number;
  /** The stage's teacher accounts (retries, errors by kind). */
  accounts: Record<string, unknown>;
}

/** The label stage, through the runner, over n failed runs (ingest and the other stages pass records through). */
export async function runTeacherStageBench(opts: TeacherStageBenchOptions = {}): Promise<TeacherStageBenchResult> {
  const n = opts.n ?? 4096;
  const latencyMs = opts.latencyMs ?? 2000;
  const jitterMs = opts.jitterMs ?? 200;
  const concurrency = opts.concurrency ?? 256;
  const server = await startServer({ latencyMs, jitterMs, keepAliveMs: 60_000 });
  const dir = await mkdtemp(join(tmpdir(), 'trajpipe-teacher-bench-'));
  try {
    const input = join(dir, 'runs.jsonl');
    await writeFile(input, Array.from({ length: n }, (_, i) => JSON.stringify(makeRun({ task: `bench run ${i}`, steps: 8 }, i))).join('\n') + '\n');
    const sets = [
      `label.teacher.base_url=${server.url}`,
      'label.teacher.model=fake',
      `label.cache_dir=${join(dir, 'cache')}`,
      `label.limits.concurrency=${concurrency}`,
      'label.limits.timeout_s=120',
    ];
    // The label stage's own CPU: measured around its run only (ingest and the pass-through stages are not the client).
    let labelCpuMs = 0;
    const stages: Stage[] = TEST_STAGES.map((st) =>
      st.name !== 'label'
        ? st
        : {
            ...st,
            run: async (ctx) => {
              const cpu = process.cpuUsage();
              try {
                await st.run(ctx);
              } finally {
                labelCpuMs = cpuMs(process.cpuUsage(cpu));
              }
            },
          },
    );
    const out = join(dir, 'out');
    const { config } = await loadConfig(null, ['name=bench', ...sets]);
    // The stages before label first, then label alone: its time and CPU are its own, not shared with the
    // test fixtures' pass-through stages that would otherwise run beside it and parse every record.
    const run = (opts: { until?: 'dedup'; only?: 'label' }) => runPipeline({ config, stages, outDir: out, inputFiles: [input], options: { dryRun: false, quiet: true }, log: silentLogger, ...opts });
    await run({ until: 'dedup' });
    const outcomes = await run({ only: 'label' });
    const s = await server.stats();
    let floor: TeacherStageBenchResult['floor'] = null;
    if (opts.floor !== false) {
      const bodies = Array.from({ length: s.requests }, (_, i) =>
        JSON.stringify({ model: 'fake', messages: [{ role: 'user', content: `<task>\nfloor ${i}\n</task>\n<trajectory steps="8">` }], temperature: 0 }),
      );
      floor = await bareFetchFloor(server.url, bodies, concurrency);
      await server.stats();
    }
    const manifestText = await readFile(join(out, 'label', 'manifest.json'), 'utf8').catch(() => null);
    if (!manifestText) throw new Error(`label stage did not complete: ${JSON.stringify(outcomes.find((o) => o.stage === 'label'))}`);
    const manifest = JSON.parse(manifestText) as StageManifest;
    const records: PipelineRecord[] = await recordsOf(out, 'label');
    return {
      n,
      latencyMs,
      jitterMs,
      concurrency,
      seconds: manifest.timings.seconds,
      idealSeconds: (n * latencyMs) / 1000 / concurrency,
      cpuMsPerRequest: labelCpuMs / Math.max(s.requests, 1),
      serverCpuMsPerRequest: s.cpuMs / Math.max(s.requests, 1),
      floor,
      requests: s.requests,
      distinct: s.distinct,
      maxInFlight: s.maxInFlight,
      labelled: records.filter((x) => x.values?.labeler === 'teacher').length,
      accounts: (manifest.stats as { teacher: Record<string, unknown> }).teacher,
    };
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export interface TeacherBenchOptions {
  n?: number;
  latencyMs?: number;
  concurrency?: number;
}

export interface TeacherBenchResult {
  n: number;
  latencyMs: number;
  concurrency: number;
  seconds: number;
  idealSeconds: number;
  maxInFlight: number;
  requests: number;
  labelled: number;
  cpuMsPerRequest: number;
  /** The same N requests sent with bare fetch at concurrency C: what the machine and server allow. */
  floorSeconds: number;
  floorCpuMsPerRequest: number;
}

/** The requester path (labeler, requester, claims, cache) without the runner, against bare fetch. */
export async function runTeacherBench(opts: TeacherBenchOptions = {}): Promise<TeacherBenchResult> {
  const n = opts.n ?? 256;
  const latencyMs = opts.latencyMs ?? 50;
  const concurrency = opts.concurrency ?? 16;
  const server = await startServer({ latencyMs, keepAliveMs: 60_000 });
  const cacheDir = await mkdtemp(join(tmpdir(), 'trajpipe-teacher-bench-'));
  try {
    const config = PipelineConfig.parse({
      name: 'bench',
      label: { teacher: { base_url: server.url, model: 'fake' }, limits: { concurrency }, cache_dir: cacheDir },
    });
    const labeler = new TeacherLabeler(config.label.teacher, BUILTIN_INSTRUCTIONS, await loadTokenCounter(config.tokenizer));
    const accounts = new TeacherAccounts({ promptPerMTok: 0, completionPerMTok: 0 });
    const requester = new TeacherRequester({
      transport: createOpenAITransport({ baseURL: server.url, apiKey: undefined }),
      cache: new ResponseCache(cacheDir),
      claims: new CacheClaims(cacheDir, { staleMs: 120_000, heartbeatMs: 20_000 }),
      limits: config.label.limits,
      accounts,
      meta: { model: 'fake', prompt_version: config.label.teacher.prompt_version },
      endpoint: server.url,
    });
    // Runs are rendered before the clock starts: this measures the requests, not the tokenizer.
    const prepared = Array.from({ length: n }, (_, i) => {
      const p = labeler.prepare(makeRun({ task: `bench run ${i}`, steps: 8 }, i));
      if ('tooLong' in p) throw new Error('bench run too long');
      return p;
    });
    const cpu = process.cpuUsage();
    const started = performance.now();
    const results = await Promise.all(prepared.map((p) => labeler.label(p, requester)));
    const seconds = (performance.now() - started) / 1000;
    const used = cpuMs(process.cpuUsage(cpu));
    const s = await server.stats();

    const floor = await bareFetchFloor(
      server.url,
      prepared.map((p, i) => JSON.stringify({ model: 'fake', messages: p.messages, temperature: 0, seed: i })),
      concurrency,
    );
    return {
      n,
      latencyMs,
      concurrency,
      seconds,
      idealSeconds: (n * latencyMs) / 1000 / concurrency,
      maxInFlight: s.maxInFlight,
      requests: s.requests,
      cpuMsPerRequest: used / Math.max(s.requests, 1),
      floorSeconds: floor.seconds,
      floorCpuMsPerRequest: floor.cpuMsPerRequest,
      labelled: results.filter((r) => r.kind === 'labelled').length,
    };
  } finally {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { default: yargs } = await import('yargs');
  const { hideBin } = await import('yargs/helpers');
  const args = await yargs(hideBin(process.argv))
    .option('stage', { type: 'boolean', default: true, describe: 'The label stage at realistic latency (N, L, jitter, C below).' })
    .option('n', { type: 'number', default: 4096, describe: 'Requests (one failed run each).' })
    .option('latency', { type: 'number', default: 2000, describe: 'Server latency per request, ms.' })
    .option('jitter', { type: 'number', default: 200, describe: 'Uniform ± jitter on the latency, ms.' })
    .option('concurrency', { type: 'number', default: 256 })
    .option('floor', { type: 'boolean', default: true, describe: 'Also time bare fetch of as many requests at the same C.' })
    .option('table', { type: 'boolean', default: true, describe: 'Also the short-latency table: requester path against bare fetch.' })
    .option('table-n', { type: 'number', default: 256 })
    .option('table-latency', { type: 'number', default: 50 })
    .option('table-concurrency', { type: 'number', array: true, default: [4, 16, 64] })
    .strict()
    .parseAsync();
  if (args.stage) {
    const r = await runTeacherStageBench({ n: args.n, latencyMs: args.latency, jitterMs: args.jitter, concurrency: args.concurrency, floor: args.floor });
    const over = (r.seconds / r.idealSeconds - 1) * 100;
    process.stdout.write(
      `teacher path: label stage, N=${r.n} requests, L=${r.latencyMs}±${r.jitterMs} ms, C=${r.concurrency}: ${r.seconds.toFixed(2)} s against N·L/C = ${r.idealSeconds.toFixed(2)} s ` +
        `(${over >= 0 ? '+' : ''}${over.toFixed(1)} %, target within 5 %); client CPU ${r.cpuMsPerRequest.toFixed(2)} ms/request; ` +
        `${r.requests} requests (${r.distinct} distinct), max in flight ${r.maxInFlight}, ${r.labelled} labelled; server CPU ${r.serverCpuMsPerRequest.toFixed(2)} ms/request; load average ${loadavg()[0]!.toFixed(1)}\n`,
    );
    const { retries, errors_by_kind } = r.accounts as { retries: number; errors_by_kind: Record<string, number> };
    if (retries) process.stdout.write(`  ${retries} retries: ${JSON.stringify(errors_by_kind)}\n`);
    if (r.floor) {
      process.stdout.write(
        `  bare fetch, same N, L, C: ${r.floor.seconds.toFixed(2)} s (${((r.floor.seconds / r.idealSeconds - 1) * 100).toFixed(1)} % over N·L/C), client CPU ${r.floor.cpuMsPerRequest.toFixed(2)} ms/request\n`,
      );
    }
    if (r.maxInFlight > r.concurrency) process.stdout.write(`  ERROR: the server saw ${r.maxInFlight} requests in flight with concurrency ${r.concurrency}\n`);
  }
  if (args.table) {
    process.stdout.write(`\nrequester path: N=${args['table-n']} requests, server latency L=${args['table-latency']} ms; load average ${loadavg()[0]!.toFixed(1)}\n`);
    process.stdout.write(
      `${'C'.padStart(5)}${'measured s'.padStart(12)}${'N·L/C s'.padStart(10)}${'ratio'.padStart(8)}${'CPU ms/req'.padStart(12)}${'bare fetch s'.padStart(14)}${'CPU ms/req'.padStart(12)}${'max in flight'.padStart(15)}${'requests'.padStart(10)}${'labelled'.padStart(10)}\n`,
    );
    for (const c of args['table-concurrency']) {
      const r = await runTeacherBench({ n: args['table-n'], latencyMs: args['table-latency'], concurrency: c });
      process.stdout.write(
        `${String(c).padStart(5)}${r.seconds.toFixed(2).padStart(12)}${r.idealSeconds.toFixed(2).padStart(10)}${(r.seconds / r.idealSeconds).toFixed(2).padStart(8)}${r.cpuMsPerRequest.toFixed(2).padStart(12)}` +
          `${r.floorSeconds.toFixed(2).padStart(14)}${r.floorCpuMsPerRequest.toFixed(2).padStart(12)}${String(r.maxInFlight).padStart(15)}${String(r.requests).padStart(10)}${String(r.labelled).padStart(10)}\n`,
      );
      if (r.maxInFlight > c) process.stdout.write(`  ERROR: the server saw ${r.maxInFlight} requests in flight with concurrency ${c}\n`);
    }
  }
}

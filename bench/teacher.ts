// Teacher client throughput: N failed runs labelled through the real teacher path (prompt rendering, token
// budget, cache, p-limit, retries, answer parsing) against a fake OpenAI-compatible server on 127.0.0.1 that
// answers after L ms. With concurrency C the ideal is N·L/C; the bench prints the measured time beside it
// and the most requests the server ever saw in flight (which must not exceed C).
//
//   npx tsx bench/teacher.ts [--n 256] [--latency 50] [--concurrency 4 --concurrency 16 --concurrency 64]
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mkdtemp } from 'node:fs/promises';
import { loadavg } from 'node:os';
import pLimit from 'p-limit';
import { PipelineConfig } from '../schemas/index.js';
import { loadTokenCounter } from '../src/core/tokenizer.js';
import { TeacherAccounts } from '../src/teacher/accounting.js';
import { ResponseCache } from '../src/teacher/cache.js';
import { createOpenAITransport } from '../src/teacher/client.js';
import { TeacherLabeler } from '../src/teacher/labeler.js';
import { BUILTIN_INSTRUCTIONS } from '../src/teacher/prompt.js';
import { TeacherRequester } from '../src/teacher/requester.js';
import { startFakeTeacher } from '../test/label/fake-teacher.js';
import { makeRun } from '../test/label/fixtures.js';

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
  /** The same N requests sent with bare fetch at concurrency C: what the machine and server allow. */
  floorSeconds: number;
}

export async function runTeacherBench(opts: TeacherBenchOptions = {}): Promise<TeacherBenchResult> {
  const n = opts.n ?? 256;
  const latencyMs = opts.latencyMs ?? 50;
  const concurrency = opts.concurrency ?? 16;
  const fake = await startFakeTeacher({ latencyMs });
  const cacheDir = await mkdtemp(join(tmpdir(), 'trajpipe-teacher-bench-'));
  try {
    const config = PipelineConfig.parse({
      name: 'bench',
      label: { teacher: { base_url: fake.url, model: 'fake' }, limits: { concurrency }, cache_dir: cacheDir },
    });
    const labeler = new TeacherLabeler(config.label.teacher, BUILTIN_INSTRUCTIONS, await loadTokenCounter(config.tokenizer));
    const accounts = new TeacherAccounts({ promptPerMTok: 0, completionPerMTok: 0 });
    const requester = new TeacherRequester({
      transport: createOpenAITransport({ baseURL: fake.url, apiKey: undefined }),
      cache: new ResponseCache(cacheDir),
      limits: config.label.limits,
      accounts,
      meta: { model: 'fake', prompt_version: config.label.teacher.prompt_version },
      endpoint: fake.url,
    });
    // Runs are rendered before the clock starts: the bench measures the requests, not the tokenizer.
    const prepared = Array.from({ length: n }, (_, i) => {
      const p = labeler.prepare(makeRun({ task: `bench run ${i}`, steps: 8 }, i));
      if ('tooLong' in p) throw new Error('bench run too long');
      return p;
    });
    const started = performance.now();
    const results = await Promise.all(prepared.map((p) => labeler.label(p, requester)));
    const seconds = (performance.now() - started) / 1000;
    const maxInFlight = fake.maxInFlight;
    const requests = fake.requests.length;

    const limit = pLimit(concurrency);
    const floorStarted = performance.now();
    await Promise.all(
      prepared.map((p, i) =>
        limit(async () => {
          const body = JSON.stringify({ model: 'fake', messages: p.messages, temperature: 0, seed: i });
          const r = await fetch(`${fake.url}/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
          await r.text();
        }),
      ),
    );
    const floorSeconds = (performance.now() - floorStarted) / 1000;
    return {
      n,
      latencyMs,
      concurrency,
      seconds,
      idealSeconds: (n * latencyMs) / 1000 / concurrency,
      maxInFlight,
      requests,
      floorSeconds,
      labelled: results.filter((r) => r.kind === 'labelled').length,
    };
  } finally {
    await fake.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { default: yargs } = await import('yargs');
  const { hideBin } = await import('yargs/helpers');
  const args = await yargs(hideBin(process.argv))
    .option('n', { type: 'number', default: 256, describe: 'Requests (one failed run each).' })
    .option('latency', { type: 'number', default: 50, describe: 'Server latency per request, ms.' })
    .option('concurrency', { type: 'number', array: true, default: [4, 16, 64] })
    .strict()
    .parseAsync();
  process.stdout.write(`teacher client: N=${args.n} requests, server latency L=${args.latency} ms; load average ${loadavg()[0]!.toFixed(1)}\n`);
  process.stdout.write(
    `${'C'.padStart(5)}${'measured s'.padStart(12)}${'N·L/C s'.padStart(10)}${'ratio'.padStart(8)}${'bare fetch s'.padStart(14)}${'max in flight'.padStart(15)}${'requests'.padStart(10)}${'labelled'.padStart(10)}\n`,
  );
  for (const c of args.concurrency) {
    const r = await runTeacherBench({ n: args.n, latencyMs: args.latency, concurrency: c });
    process.stdout.write(
      `${String(c).padStart(5)}${r.seconds.toFixed(2).padStart(12)}${r.idealSeconds.toFixed(2).padStart(10)}${(r.seconds / r.idealSeconds).toFixed(2).padStart(8)}${r.floorSeconds.toFixed(2).padStart(14)}` +
        `${String(r.maxInFlight).padStart(15)}${String(r.requests).padStart(10)}${String(r.labelled).padStart(10)}\n`,
    );
    if (r.maxInFlight > c) process.stdout.write(`  ERROR: the server saw ${r.maxInFlight} requests in flight with concurrency ${c}\n`);
  }
}

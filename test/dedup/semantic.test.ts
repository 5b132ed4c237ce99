// Semantic dedup against a fake OpenAI-compatible embeddings server on 127.0.0.1, started here.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reject, StageManifest } from '../../schemas/index.js';
import { BASE, makeRecord, readJsonl, runPipelineWith, tempDir, writeInput } from './helpers.js';

const KEY_ENV = 'TRAJPIPE_TEST_EMBED_KEY';
const KEY = 'sk-test-not-a-real-key-5f1e';

// Same meaning as BASE in other words: MinHash sees little overlap, the embedding sees the same task.
const REWORDED = 'Exported comma-separated files use the system locale for the decimal mark, so on a German machine 3.14 becomes 3,14 and the import step refuses it; use a period always and make the reader name the bad cell instead of giving up.';
const RELATED = 'The CSV importer is slow on files with many columns because it re-parses the header for every row.';
const OTHER = 'The retry decorator sleeps for the full backoff even after the last attempt.';

/** Vectors chosen so that cos(BASE, REWORDED) = 0.995 and cos(BASE, RELATED) = 0.98. */
function vectorFor(text: string): number[] {
  if (text === BASE) return [1, 0, 0, 0];
  if (text === REWORDED) return [0.995, Math.sqrt(1 - 0.995 ** 2), 0, 0];
  if (text === RELATED) return [0.98, 0, Math.sqrt(1 - 0.98 ** 2), 0];
  return [0, 0, 0, 1];
}

let server: Server;
let baseUrl: string;
const seen: { auth: string | undefined; inputs: string[]; model: string; format: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        res.writeHead(404).end();
        return;
      }
      const parsed = JSON.parse(body) as { input: string[]; model: string; encoding_format: string };
      seen.push({ auth: req.headers.authorization, inputs: parsed.input, model: parsed.model, format: parsed.encoding_format });
      const data = parsed.input.map((t, index) => ({ object: 'embedding', index, embedding: vectorFor(t) }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data, model: parsed.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  process.env[KEY_ENV] = KEY;
});

afterAll(async () => {
  delete process.env[KEY_ENV];
  await new Promise((resolve) => server.close(resolve));
});

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('semantic dedup', () => {
  it('drops a reworded task above the cosine threshold, keeps one below, caches embeddings and never writes the key', async () => {
    const dir = await tempDir('semantic');
    const input = await writeInput(dir, [
      makeRecord({ task_id: 'reword__csv-2', task: REWORDED, resolved: false }),
      makeRecord({ task_id: 'acme__csv-1', task: BASE, resolved: true }),
      makeRecord({ task_id: 'acme__csv-3', task: RELATED, resolved: false }),
      makeRecord({ task_id: 'acme__retry-4', task: OTHER, resolved: false }),
    ]);
    const out = join(dir, 'out');
    const cache = join(dir, 'cache');
    const sets = [
      'dedup.semantic.enabled=true',
      `dedup.semantic.base_url=${baseUrl}`,
      'dedup.semantic.model=fake-embed',
      `dedup.semantic.api_key_env=${KEY_ENV}`,
      `dedup.semantic.cache_dir=${cache}`,
      'dedup.semantic.batch_size=2',
    ];
    await runPipelineWith(input, out, sets);

    const rejects = await readJsonl<Reject>(join(out, 'dedup', 'rejects.jsonl'));
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ reason: 'semantic-duplicate-task', task_id: 'reword__csv-2', details: { kept: 'acme__csv-1' } });
    expect(rejects[0]!.details?.similarity).toBeCloseTo(0.995, 4);
    const clusters = await readJsonl(join(out, 'dedup', 'clusters.jsonl'));
    expect(clusters).toHaveLength(1);
    expect(clusters[0]).toMatchObject({ cluster_id: 'task:acme__csv-1', representative: 'acme__csv-1' });

    // Four distinct statements, two per request, the key from the named variable, floats requested.
    expect(seen.flatMap((s) => s.inputs).sort()).toEqual([BASE, REWORDED, RELATED, OTHER].sort());
    expect(seen).toHaveLength(2);
    expect(seen.every((s) => s.auth === `Bearer ${KEY}` && s.model === 'fake-embed' && s.format === 'float')).toBe(true);
    expect((await allFiles(cache)).filter((f) => f.endsWith('.f32'))).toHaveLength(4);
    for (const f of [...(await allFiles(out)), ...(await allFiles(cache))]) {
      expect((await readFile(f)).includes(KEY), `${f} holds the API key`).toBe(false);
    }

    // A changed threshold reruns dedup from the cache alone: no request reaches the server.
    const requestsBefore = seen.length;
    const rerun = await runPipelineWith(input, out, [...sets, 'dedup.semantic.threshold=0.999']);
    expect(rerun.outcomes.find((o) => o.stage === 'dedup')?.status).toBe('ran');
    expect(seen.length).toBe(requestsBefore);
    const m = JSON.parse(await readFile(join(out, 'dedup', 'manifest.json'), 'utf8')) as StageManifest;
    expect(m.stats.semantic).toMatchObject({ cache_hits: 4, fetched: 0, requests: 0, threshold: 0.999 });
    expect(m.dropped).toEqual({});
  });

  it('stops with a clear error when the endpoint is not configured', async () => {
    const dir = await tempDir('semantic-bad');
    const input = await writeInput(dir, [makeRecord({})]);
    await expect(runPipelineWith(input, join(dir, 'out'), ['dedup.semantic.enabled=true'])).rejects.toThrow(/dedup.semantic.base_url/);
  });
});

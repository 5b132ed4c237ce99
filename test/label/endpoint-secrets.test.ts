// Endpoint URLs with a token in their query or user:password@ never reach a file or a log line.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scrubUrl, scrubUrlsInText } from '../../src/core/endpoint.js';
import { runCli } from '../helpers/cli.js';
import { startFakeTeacher, type FakeTeacher } from './fake-teacher.js';
import { allFiles, makeRun, tempDir, writeRuns } from './fixtures.js';

const TOKEN = 'QTOKEN-5e6f7a8b9c0d';
const PASSWORD = 'pw-1a2b3c4d5e';

let fake: FakeTeacher | null = null;
let embed: Server | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
  await new Promise((r) => (embed ? embed.close(r) : r(null)));
  embed = null;
});

/** An embeddings server that answers one distinct vector per input and records each request's query. */
async function startEmbeddings(queries: string[]): Promise<string> {
  embed = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      if (url.pathname !== '/v1/embeddings') return void res.writeHead(404).end();
      queries.push(url.search);
      const input = (JSON.parse(body) as { input: string[] }).input;
      const data = input.map((_, index) => ({ object: 'embedding', index, embedding: [1, index + 1, queries.length, 0.5] }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
    });
  });
  await new Promise<void>((r) => embed!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(embed.address() as AddressInfo).port}/v1`;
}

async function filesHolding(dir: string, secret: string): Promise<string[]> {
  const hits: string[] = [];
  for (const f of await allFiles(dir)) if ((await readFile(f)).includes(secret)) hits.push(f);
  return hits;
}

describe('endpoint URLs are scrubbed everywhere they could be shown', () => {
  it('scrubUrl drops credentials, query and fragment, and leaves a clean URL byte-identical', () => {
    expect(scrubUrl(`https://u:${PASSWORD}@api.example.com:8443/v1?token=${TOKEN}#x`)).toBe('https://api.example.com:8443/v1');
    expect(scrubUrl('http://gpu-box:8000')).toBe('http://gpu-box:8000');
    expect(scrubUrl('http://gpu-box:8000/v1/')).toBe('http://gpu-box:8000/v1/');
    expect(scrubUrlsInText(`connection failed (cannot fetch http://a:${PASSWORD}@h/v1?k=${TOKEN}): no`)).toBe('connection failed (cannot fetch http://h/v1): no');
  });

  it('a whole build with a token in the teacher and embeddings URLs: sent to the servers, in no file under the run folder and not on stderr', async () => {
    fake = await startFakeTeacher();
    const queries: string[] = [];
    const embedUrl = await startEmbeddings(queries);
    const dir = await tempDir();
    const runs = [makeRun({ task: 'Fix the pager.', steps: 5 }, 0), makeRun({ task: 'Refused [faults:400]', steps: 5 }, 1), makeRun({ task: 'Fix the parser.', resolved: true, steps: 4 }, 2)];
    const input = await writeRuns(dir, runs);
    const out = join(dir, 'out');
    const r = await runCli([
      'run', '--input', input, '--out', out,
      '--set', 'filter.enabled=false',
      '--set', 'dedup.semantic.enabled=true', '--set', `dedup.semantic.base_url=${embedUrl}?api-version=2024&token=${TOKEN}`,
      '--set', 'dedup.semantic.model=fake-embed', '--set', `dedup.semantic.cache_dir=${join(dir, 'embed-cache')}`,
      '--set', 'segment.min_peak_value=0',
      '--teacher-base-url', `${fake.url}?token=${TOKEN}`, '--teacher-model', 'fake',
    ]);
    expect(r.code, r.stderr).toBe(0);
    // The query went where it belongs: with every request to both servers.
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    expect(fake.requests.every((q) => q.query === `?token=${TOKEN}`)).toBe(true);
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.every((q) => q === `?api-version=2024&token=${TOKEN}`)).toBe(true);
    // And nowhere else: manifests (dedup's config slice), the dataset card, rejects, parts, caches, stderr.
    expect(await filesHolding(dir, TOKEN)).toEqual([]);
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
    const dedupManifest = JSON.parse(await readFile(join(out, 'dedup', 'manifest.json'), 'utf8')) as { config: { semantic: { base_url: string } } };
    expect(dedupManifest.config.semantic.base_url).toBe(embedUrl);
    expect(await readFile(join(out, 'export', 'README.md'), 'utf8')).toContain(`base_url: ${embedUrl}`);
  }, 240_000);

  it('user:password@ in the teacher URL is refused in one sentence that does not show the password; a dead endpoint with a token stops without showing it', async () => {
    const dir = await tempDir();
    const input = await writeRuns(dir, [makeRun({ task: 'a', steps: 3 }, 0)]);
    const common = ['run', '--input', input, '--set', 'filter.enabled=false', '--set', 'dedup.enabled=false', '--teacher-model', 'fake'];
    const creds = await runCli([...common, '--out', join(dir, 'o1'), '--teacher-base-url', `http://alice:${PASSWORD}@127.0.0.1:9/v1?token=${TOKEN}`]);
    expect(creds.code).toBe(1);
    expect(creds.stderr).toMatch(/label\.teacher\.base_url \(http:\/\/127\.0\.0\.1:9\/v1\) holds user:password@/);
    const dead = await runCli([
      ...common, '--out', join(dir, 'o2'), '--teacher-base-url', `http://127.0.0.1:9/v1?token=${TOKEN}`,
      '--set', 'label.limits.max_retries=0',
    ]);
    expect(dead.code, dead.stderr).toBe(3);
    expect(dead.stderr).toMatch(/the teacher at http:\/\/127\.0\.0\.1:9\/v1 failed/);
    for (const text of [creds.stderr, dead.stderr]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(TOKEN);
    }
    expect(await filesHolding(dir, TOKEN)).toEqual([]);
    expect(await filesHolding(dir, PASSWORD)).toEqual([]);
  }, 240_000);
});

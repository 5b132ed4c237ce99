// The RL task pool on the sample build (with one sample task held out as a "benchmark") and on ../shared/corpus
// (with SWE-bench Verified held out): counts per band, computed independently from the ingested records, and
// no decontaminated task in either table.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { PoolConfig, type PipelineRecord, type Reject, type StageManifest } from '../../schemas/index.js';
import { bandOf, idFields, inBand } from '../../src/stages/pool/tasks.js';
import { duckQuery } from '../helpers/duckdb.js';
import { readJsonl, runPipelineWith, tempDir } from '../dedup/helpers.js';
import { recordsOf } from '../helpers/records.js';

interface TaskOut {
  task_id: string;
  attempts: number;
  resolved_attempts: number;
  failed_attempts: number;
  unknown_attempts: number;
  pass_rate: number | null;
  band: string;
  in_pool: boolean;
}

const readTable = async (out: string, name: 'tasks' | 'pool') =>
  (await duckQuery(`SELECT * FROM read_parquet('${out}/pool/${name}-*.parquet') ORDER BY task_id`)).map((r) => ({
    ...r,
    attempts: Number(r.attempts),
    resolved_attempts: Number(r.resolved_attempts),
    failed_attempts: Number(r.failed_attempts),
    unknown_attempts: Number(r.unknown_attempts),
  })) as unknown as TaskOut[];

/** The expected table, counted here from the ingest part files without the stage's code. */
function expectedTasks(ingested: PipelineRecord[], excluded: Set<string>) {
  const by = new Map<string, { a: number; r: number; f: number; u: number }>();
  for (const rec of ingested) {
    if (excluded.has(rec.task_id)) continue;
    const t = by.get(rec.task_id) ?? { a: 0, r: 0, f: 0, u: 0 };
    t.a++;
    if (rec.outcome.resolved === true) t.r++;
    else if (rec.outcome.resolved === false) t.f++;
    else t.u++;
    by.set(rec.task_id, t);
  }
  return by;
}

function bandCounts(rows: TaskOut[]) {
  const c: Record<string, number> = {};
  for (const r of rows) c[r.band] = (c[r.band] ?? 0) + 1;
  return c;
}

async function checkPool(out: string, decontaminatedIds: (taskId: string) => boolean) {
  const ingested = await recordsOf(out, 'ingest');
  const filterRejects = await readJsonl<Reject>(join(out, 'filter', 'rejects.jsonl'));
  const decon = new Set(filterRejects.filter((r) => r.reason.startsWith('decontaminated-')).map((r) => r.task_id!));
  const expected = expectedTasks(ingested, decon);
  const tasks = await readTable(out, 'tasks');
  const pool = await readTable(out, 'pool');

  expect(tasks.map((t) => t.task_id)).toEqual([...expected.keys()].sort());
  for (const t of tasks) {
    const e = expected.get(t.task_id)!;
    expect([t.attempts, t.resolved_attempts, t.failed_attempts, t.unknown_attempts], t.task_id).toEqual([e.a, e.r, e.f, e.u]);
    // Unknown outcomes never count towards the pass rate.
    expect(t.pass_rate).toBe(e.r + e.f > 0 ? e.r / (e.r + e.f) : null);
    expect(t.in_pool).toBe(t.pass_rate !== null && t.pass_rate > 0 && t.pass_rate < 1);
  }
  expect(pool.map((t) => t.task_id)).toEqual(tasks.filter((t) => t.in_pool).map((t) => t.task_id));
  // Decontaminated tasks are in neither table, whatever the ids look like.
  for (const t of [...tasks, ...pool]) {
    expect(decon.has(t.task_id), `${t.task_id} is decontaminated but in the pool`).toBe(false);
    expect(decontaminatedIds(t.task_id), `${t.task_id} is a held-out benchmark task`).toBe(false);
  }

  const m = JSON.parse(await readFile(join(out, 'pool', 'manifest.json'), 'utf8')) as StageManifest;
  const deconAttempts = ingested.filter((r) => decon.has(r.task_id)).length;
  expect(m.records_in).toBe(ingested.length);
  expect(m.dropped).toEqual(deconAttempts ? { 'decontaminated-task': deconAttempts } : {});
  expect(m.stats['tasks_by_band']).toEqual({ 'never-solved': 0, intermediate: 0, 'always-solved': 0, unknown: 0, ...bandCounts(tasks) });
  const card = await readFile(join(out, 'pool', 'README.md'), 'utf8');
  for (const [band, n] of Object.entries(bandCounts(tasks))) expect(card).toContain(`| ${band} | ${n} |`);
  return { tasks, pool, decon, deconAttempts, ingested: ingested.length };
}

describe('pool: band arithmetic', () => {
  const cfg = PoolConfig.parse({});
  it('default band: neither never nor always solved; unknown is never in the pool', () => {
    expect([0, 0.01, 0.5, 0.99, 1, null].map((r) => inBand(r, cfg.band))).toEqual([false, true, true, true, false, false]);
    expect([0, 0.5, 1, null].map(bandOf)).toEqual(['never-solved', 'intermediate', 'always-solved', 'unknown']);
    const closed = PoolConfig.parse({ band: { min: 0.25, max: 0.75, include_min: true, include_max: true } }).band;
    expect([0.2, 0.25, 0.75, 0.8].map((r) => inBand(r, closed))).toEqual([false, true, true, false]);
  });
  it('reads rollout fields from SWE-bench and SWE-smith ids', () => {
    expect(idFields('django__django-16255')).toEqual({ instance_id: 'django__django-16255', repo: 'django/django', base_commit: null });
    expect(idFields('Project-MONAI__MONAI-3715_4')).toMatchObject({ instance_id: 'Project-MONAI__MONAI-3715', repo: 'Project-MONAI/MONAI' });
    expect(idFields('arrow-py__arrow.1d70d009.lm_rewrite__nuzjfyur')).toEqual({
      instance_id: 'arrow-py__arrow.1d70d009.lm_rewrite__nuzjfyur',
      repo: 'arrow-py/arrow',
      base_commit: '1d70d009',
    });
    expect(idFields('github_issue')).toEqual({ instance_id: null, repo: null, base_commit: null });
  });
});

describe('pool on the sample build with acme__pager-12 held out', () => {
  let out: string;
  beforeAll(async () => {
    const dir = await tempDir('pool-sample');
    const ids = join(dir, 'heldout.ids');
    await writeFile(ids, 'acme__pager-12\n');
    out = join(dir, 'out');
    await runPipelineWith('data/sample', out, [`filter.decontaminate.ids=[${JSON.stringify(ids)}]`], 'pipelines/sample.yaml');
  }, 300_000);

  it('counts every band from the ingested attempts and leaves the held-out task out', async () => {
    const r = await checkPool(out, (id) => id === 'acme__pager-12');
    expect(r.decon).toEqual(new Set(['acme__pager-12']));
    expect(r.deconAttempts).toBe(6);
    // Known answers for the sample (without pager-12, the only task with 5 resolved and 1 failed attempt).
    expect(bandCounts(r.tasks)).toEqual({ 'never-solved': 3, intermediate: 1, 'always-solved': 2 });
    expect(r.pool.map((t) => t.task_id)).toEqual(['acme__retry-4']);
    console.log(`pool on the sample: ${JSON.stringify(bandCounts(r.tasks))}, pool ${r.pool.length} task(s), ${r.deconAttempts} decontaminated attempts`);
  });
});

const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
const CORPUS = join(SHARED, 'corpus');
const VERIFIED = join(SHARED, 'benchmarks', 'swe-bench-verified.ids');
const HAVE_SHARED = existsSync(CORPUS) && existsSync(VERIFIED);
if (!HAVE_SHARED) console.warn(`SKIPPED: ${CORPUS} or ${VERIFIED} not found; the RL task pool corpus test did not run.`);

describe.skipIf(!HAVE_SHARED)('pool on ../shared/corpus with SWE-bench Verified held out', () => {
  let out: string;
  let verified: Set<string>;
  beforeAll(async () => {
    verified = new Set((await readFile(VERIFIED, 'utf8')).split('\n').map((l) => l.trim().toLowerCase()).filter(Boolean));
    out = join(await tempDir('pool-corpus'), 'out');
    // Only Verified is held out here (not the bundled lists), so the pool has tasks left to count.
    await runPipelineWith(CORPUS, out, [`filter.decontaminate.ids=[${JSON.stringify(VERIFIED)}]`, 'filter.decontaminate.benchmarks=[]']);
  }, 600_000);

  it('counts per band, and no Verified instance is in the task table or the pool', async () => {
    const isVerified = (id: string) => verified.has(id.toLowerCase()) || verified.has(id.toLowerCase().replace(/_\d+$/, ''));
    const r = await checkPool(out, isVerified);
    expect(r.decon.size).toBeGreaterThan(10);
    expect(r.tasks.length).toBeGreaterThan(0);
    console.log(
      `pool on ../shared/corpus: ${r.ingested} attempts, ${r.decon.size} decontaminated tasks (${r.deconAttempts} attempts) left out; ` +
        `bands ${JSON.stringify(bandCounts(r.tasks))}; pool ${r.pool.length} task(s)`,
    );
  });
});

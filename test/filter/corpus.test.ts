// The real pipeline on the shared public corpus with the SWE-bench Verified list configured (and the
// bundled lists off): every Verified instance in the corpus is removed by decontamination, and the
// manifest counts each rule. Then the defaults: the bundled lists catch more than Verified alone.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Reject, StageManifest } from '../../schemas/index.js';
import { BUNDLED_BENCHMARKS } from '../../schemas/config/filter.js';
import { readJsonl, runPipelineWith, tempDir } from '../dedup/helpers.js';
import { recordsOf } from '../helpers/records.js';

const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
const CORPUS = join(SHARED, 'corpus');
const VERIFIED = join(SHARED, 'benchmarks', 'swe-bench-verified.ids');
const HAVE_SHARED = existsSync(CORPUS) && existsSync(VERIFIED);
if (!HAVE_SHARED) console.warn(`SKIPPED: ${CORPUS} or ${VERIFIED} not found; the filter corpus test did not run.`);

const RULES = ['decontaminate', 'infrastructure', 'malformed', 'unfinished', 'length', 'loops'];

/** Written independently of the stage's own id matching: an id, or an id followed by a _ or __ tail. */
const isInstance = (taskId: string, id: string) => taskId === id || taskId.startsWith(`${id}_`);

describe.skipIf(!HAVE_SHARED)('filter on ../shared/corpus with SWE-bench Verified configured', () => {
  let out: string;
  let verified: Set<string>;
  /** Verified instances the corpus holds trajectories of, from its MANIFEST (ids or file names). */
  let expected: string[];

  beforeAll(async () => {
    verified = new Set((await readFile(VERIFIED, 'utf8')).split('\n').map((l) => l.trim()).filter(Boolean));
    const manifest = JSON.parse(await readFile(join(CORPUS, 'MANIFEST.json'), 'utf8')) as { kind: string; instance_id?: string; dest: string }[];
    const found = new Set<string>();
    for (const e of manifest.filter((m) => m.kind === 'trajectory')) {
      if (e.instance_id && verified.has(e.instance_id)) found.add(e.instance_id);
      for (const id of verified) if (basename(e.dest).startsWith(`${id}.`) || basename(e.dest).startsWith(`${id}__`)) found.add(id);
    }
    expected = [...found].sort();
    out = join(await tempDir('filter-corpus'), 'out');
    await runPipelineWith(CORPUS, out, [`filter.decontaminate.ids=[${JSON.stringify(VERIFIED)}]`, 'filter.decontaminate.benchmarks=[]']);
  });

  it('ingests the Verified runs and removes every one of them by instance id', async () => {
    expect(expected.length).toBeGreaterThan(10);
    const ingested = await recordsOf(out, 'ingest');
    for (const id of expected) expect(ingested.some((r) => isInstance(r.task_id, id)), `ingest produced no record for ${id}`).toBe(true);

    const kept = await recordsOf(out, 'filter');
    const leaked = kept.filter((r) => [...verified].some((id) => isInstance(r.task_id, id)));
    expect(leaked.map((r) => r.task_id)).toEqual([]);
    expect(kept.length).toBeGreaterThan(0);

    const rejects = await readJsonl<Reject>(join(out, 'filter', 'rejects.jsonl'));
    const decon = rejects.filter((r) => r.reason === 'decontaminated-id');
    for (const id of expected) expect(decon.some((r) => isInstance(r.task_id!, id)), `${id} not rejected as decontaminated-id`).toBe(true);
    // Nothing outside the list is dropped as contaminated by id.
    expect(decon.every((r) => [...verified].some((id) => isInstance(r.task_id!, id)))).toBe(true);
  });

  it('counts every rule in the manifest, consistently with the dropped totals', async () => {
    const m = JSON.parse(await readFile(join(out, 'filter', 'manifest.json'), 'utf8')) as StageManifest;
    const rules = m.stats.rules as Record<string, { checked: number; dropped: number; reasons: Record<string, number> }>;
    expect(Object.keys(rules)).toEqual(RULES);
    for (const name of RULES) {
      expect(rules[name]!.checked, name).toBeGreaterThan(0);
      expect(Object.values(rules[name]!.reasons).reduce((a, b) => a + b, 0)).toBe(rules[name]!.dropped);
    }
    expect(rules.decontaminate!.dropped).toBeGreaterThanOrEqual(expected.length);
    const perRule = RULES.reduce((a, n) => a + rules[n]!.dropped, 0);
    expect(perRule).toBe(Object.values(m.dropped).reduce((a, b) => a + b, 0));
    expect(m.records_in).toBe(m.records_out + perRule);
    expect(m.stats.infrastructure_failures).toEqual({ total: rules.infrastructure!.dropped, reasons: rules.infrastructure!.reasons });
    console.info(`filter on corpus: ${m.records_in} in, ${m.records_out} kept; per rule: ${RULES.map((n) => `${n}=${rules[n]!.dropped}`).join(', ')}`);

    const d = JSON.parse(await readFile(join(out, 'dedup', 'manifest.json'), 'utf8')) as StageManifest;
    expect(d.records_in).toBe(m.records_out);
    expect(existsSync(join(out, 'dedup', 'clusters.jsonl'))).toBe(true);
  });
});

describe.skipIf(!HAVE_SHARED)('filter on ../shared/corpus with the default (bundled) benchmark lists', () => {
  it('drops every Verified run and more, each reject naming lists that really hold its instance', async () => {
    const lists = new Map<string, Set<string>>();
    for (const name of BUNDLED_BENCHMARKS) {
      const text = await readFile(fileURLToPath(new URL(`../../data/benchmarks/${name}.ids`, import.meta.url)), 'utf8');
      lists.set(name, new Set(text.split('\n').map((l) => l.trim().toLowerCase()).filter((l) => l && !l.startsWith('#'))));
    }
    const out = join(await tempDir('filter-corpus-defaults'), 'out');
    await runPipelineWith(CORPUS, out, []);
    const rejects = (await readJsonl<Reject>(join(out, 'filter', 'rejects.jsonl'))).filter((r) => r.reason === 'decontaminated-id');
    const verified = lists.get('swe-bench-verified')!;
    const kept = await recordsOf(out, 'filter');
    expect(kept.filter((r) => [...verified].some((id) => isInstance(r.task_id.toLowerCase(), id))).map((r) => r.task_id)).toEqual([]);
    const perList: Record<string, number> = {};
    for (const r of rejects) {
      const d = r.details as { benchmark_id: string; benchmarks: string[] };
      expect(isInstance(r.task_id!.toLowerCase(), d.benchmark_id), r.task_id!).toBe(true);
      for (const name of d.benchmarks) {
        expect(lists.get(name)?.has(d.benchmark_id), `${d.benchmark_id} in ${name}`).toBe(true);
        perList[name] = (perList[name] ?? 0) + 1;
      }
    }
    const verifiedOnly = rejects.filter((r) => (r.details as { benchmarks: string[] }).benchmarks.includes('swe-bench-verified')).length;
    expect(rejects.length).toBeGreaterThan(verifiedOnly);
    const m = JSON.parse(await readFile(join(out, 'filter', 'manifest.json'), 'utf8')) as StageManifest;
    expect(Object.keys(m.stats.benchmark_ids as Record<string, number>)).toEqual([...BUNDLED_BENCHMARKS]);
    console.info(`decontamination with the bundled lists: ${rejects.length} runs dropped by id; per list ${JSON.stringify(perList)}`);
  });
});

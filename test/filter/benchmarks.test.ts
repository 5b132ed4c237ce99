// The bundled held-out benchmark lists (data/benchmarks/*.ids): their sizes are the published ones,
// they are checked by default, and a run without any list says so on every run.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PipelineConfig, type PipelineRecord } from '../../schemas/index.js';
import { BUNDLED_BENCHMARKS, type BundledBenchmark } from '../../schemas/config/filter.js';
import { loadConfig } from '../../src/config/load.js';
import { runPipeline } from '../../src/runner/runner.js';
import type { Logger } from '../../src/runner/log.js';
import { bundledBenchmarkFile, decontaminationWarning } from '../../src/stages/filter/benchmarks.js';
import { applyRules, buildRules, emptyRuleStats } from '../../src/stages/filter/index.js';
import { STAGES } from '../../src/stages/index.js';
import { tempDir } from '../helpers/cli.js';
import { makeRecord } from './factory.js';

/** Published sizes: swebench.com (Verified 500, Lite 300, Multilingual 300); Multi-SWE-bench README (1,632; mini 400). */
const PUBLISHED: Record<BundledBenchmark, number> = {
  'swe-bench-verified': 500,
  'swe-bench-lite': 300,
  'swe-bench-multilingual': 300,
  'multi-swe-bench': 1632,
  'multi-swe-bench-mini': 400,
};

const SHARED_VERIFIED = fileURLToPath(new URL('../../../shared/benchmarks/swe-bench-verified.ids', import.meta.url));

async function idsOf(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

async function verdictOf(record: PipelineRecord, filter: Record<string, unknown> = {}) {
  const config = PipelineConfig.parse({ name: 't', filter });
  const hit = applyRules(await buildRules(config), record, emptyRuleStats(config));
  return hit ? { reason: hit.verdict.reason, message: hit.verdict.message, details: hit.verdict.details } : null;
}

describe('bundled benchmark lists', () => {
  it.each(BUNDLED_BENCHMARKS)('%s has its published number of distinct SWE-bench-style ids and names its source', async (name) => {
    const file = bundledBenchmarkFile(name);
    const ids = await idsOf(file);
    expect(ids.length).toBe(PUBLISHED[name]);
    expect(new Set(ids.map((i) => i.toLowerCase())).size).toBe(ids.length);
    for (const id of ids) expect(id, `${name}: ${id}`).toMatch(/^[A-Za-z0-9][\w.-]*__[\w.-]+-\d+$/);
    expect(await readFile(file, 'utf8')).toMatch(/^# .*\n# (Derived|Reconstructed) from [\w.-]+\/[\w.-]+@[0-9a-f]{40}:/);
  });

  it('every list is documented in data/benchmarks/README.md', async () => {
    const readme = await readFile(fileURLToPath(new URL('../../data/benchmarks/README.md', import.meta.url)), 'utf8');
    for (const name of BUNDLED_BENCHMARKS) expect(readme).toContain(`${name}.ids`);
  });

  it.skipIf(!existsSync(SHARED_VERIFIED))('SWE-bench Verified equals ../shared/benchmarks/swe-bench-verified.ids', async () => {
    const ours = new Set(await idsOf(bundledBenchmarkFile('swe-bench-verified')));
    const shared = new Set(await idsOf(SHARED_VERIFIED));
    expect([...ours].filter((i) => !shared.has(i))).toEqual([]);
    expect([...shared].filter((i) => !ours.has(i))).toEqual([]);
  });
  if (!existsSync(SHARED_VERIFIED)) console.warn(`SKIPPED: ${SHARED_VERIFIED} not found; the bundled Verified list was not compared with it.`);

  it('SWE-bench Lite and Verified share 93 instances', async () => {
    const verified = new Set(await idsOf(bundledBenchmarkFile('swe-bench-verified')));
    const lite = await idsOf(bundledBenchmarkFile('swe-bench-lite'));
    expect(lite.filter((i) => verified.has(i)).length).toBe(93);
  });
});

describe('decontamination by default', () => {
  it('drops a SWE-bench Verified task with no list configured, naming every list that holds it', async () => {
    const v = await verdictOf(makeRecord({ task_id: 'astropy__astropy-12907' }));
    expect(v?.reason).toBe('decontaminated-id');
    expect(v?.details?.benchmarks).toEqual(['swe-bench-verified', 'swe-bench-lite']);
    expect(v?.message).toContain('swe-bench-verified');
  });

  it('drops Multilingual and Multi-SWE-bench tasks, case-insensitively and with a sampler suffix', async () => {
    expect((await verdictOf(makeRecord({ task_id: 'phpoffice__phpspreadsheet-4313' })))?.details?.benchmarks).toEqual(['swe-bench-multilingual']);
    expect((await verdictOf(makeRecord({ task_id: 'BurntSushi__ripgrep-2209_3' })))?.details?.benchmarks).toEqual(['swe-bench-multilingual', 'multi-swe-bench', 'multi-swe-bench-mini']);
  });

  it('checks only the lists named in benchmarks; [] checks none of them', async () => {
    const rec = makeRecord({ task_id: 'astropy__astropy-12907' });
    expect((await verdictOf(rec, { decontaminate: { benchmarks: ['swe-bench-lite'] } }))?.details?.benchmarks).toEqual(['swe-bench-lite']);
    expect(await verdictOf(rec, { decontaminate: { benchmarks: ['multi-swe-bench'] } })).toBeNull();
    expect(await verdictOf(rec, { decontaminate: { benchmarks: [] } })).toBeNull();
    expect(() => PipelineConfig.parse({ name: 't', filter: { decontaminate: { benchmarks: ['swe-bench-full'] } } })).toThrow();
  });

  it('keeps another task of a benchmark repository unless repos or repos_from_ids say otherwise', async () => {
    const rec = makeRecord({ task_id: 'astropy__astropy-99999' });
    expect(await verdictOf(rec)).toBeNull();
    expect((await verdictOf(rec, { decontaminate: { repos_from_ids: true } }))?.reason).toBe('decontaminated-repo');
    expect((await verdictOf(rec, { decontaminate: { repos: ['astropy/astropy'] } }))?.reason).toBe('decontaminated-repo');
  });
});

describe('a run without any held-out list', () => {
  const parse = (filter: Record<string, unknown>) => PipelineConfig.parse({ name: 't', filter });

  it('is named by the warning, and the defaults give none', () => {
    expect(decontaminationWarning(parse({}).filter)).toBeNull();
    expect(decontaminationWarning(parse({ decontaminate: { benchmarks: [], ids: ['mine.ids'] } }).filter)).toBeNull();
    expect(decontaminationWarning(parse({ decontaminate: { benchmarks: [] } }).filter)).toMatch(/filter.decontaminate has no list/);
    expect(decontaminationWarning(parse({ decontaminate: { enabled: false } }).filter)).toMatch(/filter.decontaminate.enabled is false/);
    expect(decontaminationWarning(parse({ enabled: false }).filter)).toMatch(/filter.enabled is false/);
  });

  it('warns on every run, also when every stage is up to date', async () => {
    const dir = await tempDir();
    const { config } = await loadConfig(null, ['name=t', 'filter.decontaminate.benchmarks=[]']);
    const warnings: string[] = [];
    const log: Logger = { info: () => {}, warn: (m) => warnings.push(m) };
    const go = () =>
      runPipeline({ config, stages: STAGES, outDir: join(dir, 'out'), inputFiles: ['data/sample/canonical/runs.jsonl'], options: { dryRun: false, quiet: true }, log });
    await go();
    const again = await go();
    expect(again.every((o) => o.status === 'skipped')).toBe(true);
    expect(warnings.filter((w) => /no run is checked against a held-out benchmark/.test(w))).toHaveLength(2);
  });
});

import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE_ORDER, type StageName } from '../../schemas/index.js';
import { loadConfig } from '../../src/config/load.js';
import { StageStopped } from '../../src/core/errors.js';
import { runPipeline } from '../../src/runner/runner.js';
import { silentLogger } from '../../src/runner/log.js';
import type { Stage, StageContext } from '../../src/runner/stage.js';
import { STAGES } from '../../src/stages/index.js';
import { tempDir } from '../helpers/cli.js';

/** The real stages, with one replaced by a test double. */
function withStage(name: StageName, run: (ctx: StageContext) => Promise<void>): Stage[] {
  return STAGES.map((s) => (s.name === name ? { ...s, run } : s));
}

async function setup() {
  const dir = await tempDir();
  const { config } = await loadConfig(null, ['name=t']);
  return { dir, config, inputFiles: ['data/sample/canonical/runs.jsonl'] };
}

const run = (stages: readonly Stage[], s: Awaited<ReturnType<typeof setup>>, extra: Partial<Parameters<typeof runPipeline>[0]> = {}) =>
  runPipeline({ config: s.config, stages, outDir: s.dir, inputFiles: s.inputFiles, options: { dryRun: false, quiet: true }, log: silentLogger, ...extra });

describe('runner', () => {
  it('refuses a stage that loses records (in != out + dropped), leaving no output for it', async () => {
    const s = await setup();
    const lossy = withStage('filter', async (ctx) => {
      let first = true;
      for await (const r of ctx.records()) {
        if (first) first = false; // silently dropped: neither emitted nor rejected
        else await ctx.emit(r);
      }
    });
    await expect(run(lossy, s)).rejects.toThrow(/filter lost track of records: 6 in but 5 out \+ 0 dropped/);
    const entries = await readdir(s.dir);
    expect(entries).toContain('ingest');
    expect(entries).not.toContain('filter');
    expect(entries.filter((e) => e.includes('partial'))).toEqual([]);
  });

  it('writes every reject with its reason and counts it in the manifest', async () => {
    const s = await setup();
    const picky = withStage('filter', async (ctx) => {
      for await (const r of ctx.records()) {
        if (r.outcome.resolved) await ctx.emit(r);
        else await ctx.reject({ reason: 'test-failed-run', message: `Run ${r.id} failed.`, id: r.id, task_id: r.task_id });
      }
    });
    const outcomes = await run(picky, s);
    const filter = outcomes.find((o) => o.stage === 'filter')!;
    expect(filter.status).toBe('ran');
    if (filter.status !== 'ran') return;
    expect(filter.manifest.dropped).toEqual({ 'test-failed-run': 3 });
    expect(filter.manifest.records_in).toBe(6);
    expect(filter.manifest.records_out).toBe(3);
  });

  it('a stage that throws leaves no folder behind, and the stages before it stay complete', async () => {
    const s = await setup();
    const broken = withStage('label', async () => {
      throw new Error('boom');
    });
    await expect(run(broken, s)).rejects.toThrow('boom');
    const entries = (await readdir(s.dir)).filter((e) => !e.startsWith('.lock'));
    expect(entries.sort()).toEqual(['dedup', 'filter', 'ingest']);
  });

  it('a clean stop (StageStopped) ends the run there with its reason, resumable', async () => {
    const s = await setup();
    const stopping = withStage('label', async () => {
      throw new StageStopped('budget of 10 requests reached');
    });
    const outcomes = await run(stopping, s);
    expect(outcomes.map((o) => o.status)).toEqual(['ran', 'ran', 'ran', 'stopped']);
    expect(outcomes[3]).toMatchObject({ stage: 'label', reason: 'budget of 10 requests reached' });
    const resumed = await run(STAGES, s);
    expect(resumed.map((o) => o.status)).toEqual(['skipped', 'skipped', 'skipped', 'ran', 'ran', 'ran', 'ran', 'ran', 'ran']);
  });

  it('removes leftovers of a killed run before a stage starts', async () => {
    const s = await setup();
    await mkdir(join(s.dir, '.filter.partial-99999'), { recursive: true });
    await writeFile(join(s.dir, '.filter.partial-99999', 'part-00000.jsonl'), '{"half":');
    await run(STAGES, s);
    expect((await readdir(s.dir)).filter((e) => e.includes('partial'))).toEqual([]);
  });

  it('refuses --only when the stages before it have no output yet', async () => {
    const s = await setup();
    await expect(run(STAGES, s, { only: 'segment' })).rejects.toThrow(/no complete output/);
  });

  it('keeps the registry in pipeline order', () => {
    expect(STAGES.map((x) => x.name)).toEqual([...STAGE_ORDER]);
  });
});

describe('a stage that reports upstream rejects (export)', () => {
  it('reruns when an earlier stage changes its rejects but not its output', async () => {
    const s = await setup();
    // Same output either way; only the reject reason changes between the two runs.
    const filterWith = (reason: string): Stage[] =>
      withStage('filter', async (ctx) => {
        for await (const r of ctx.records()) {
          if (r.outcome.resolved) await ctx.emit(r);
          else await ctx.reject({ reason, message: 'failed run', id: r.id });
        }
      }).map((st) => (st.name === 'filter' ? { ...st, version: `test-${reason}` } : st));
    await run(filterWith('reason-a'), s);
    const second = await run(filterWith('reason-b'), s);
    const status = Object.fromEntries(second.map((o) => [o.stage, o.status]));
    // pool reads the filter stage's rejects (decontamination), so it reruns too; formats reruns because export's stage
    // fingerprint (which covers the rejects it reports) changed: readsStages is conservative.
    expect(status).toEqual({ ingest: 'skipped', filter: 'ran', dedup: 'skipped', label: 'skipped', segment: 'skipped', export: 'ran', tokenize: 'skipped', formats: 'ran', pool: 'ran' });
  });
});

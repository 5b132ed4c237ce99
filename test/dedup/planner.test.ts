import { describe, expect, it } from 'vitest';
import { BASE, edit, makeRecord, plan, trueJaccard } from './helpers.js';
import { selectDiverse } from '../../src/stages/dedup/cap.js';

// One word changed: most shingles survive. Five words changed across the text: about half do not.
const NEAR = edit(BASE, [['German', 'French']]);
const FAR = edit(BASE, [
  ['numeric', 'decimal'],
  ['German', 'French'],
  ['later rejects', 'then refuses'],
  ['regardless of', 'whatever'],
  ['failing the whole', 'aborting the entire'],
]);
const OTHER = 'The retry decorator sleeps for the full backoff even after the last attempt, so a call that fails three times waits an extra thirty seconds before raising.';

describe('exact task dedup', () => {
  it('treats statements differing only in case, whitespace and volatile ids as one task and keeps the one with a resolved run', () => {
    const a = makeRecord({ task_id: 'a__x-1', task: 'Crash in build 3f9a2c1d7e at /tmp/tmpab12cd:\n  Fix   it.', resolved: false });
    const b = makeRecord({ task_id: 'b__x-2', task: 'crash in build 0a1b2c3d4e5f at /tmp/tmpzz99 : fix it.', resolved: true });
    const { decisions, planner } = plan([a, b]);
    expect(decisions[1]!.keep).toBe(true);
    expect(decisions[0]).toMatchObject({ keep: false, reason: 'duplicate-task', representative: 'b__x-2' });
    expect(planner.clusters[0]).toMatchObject({ cluster_id: 'task:b__x-2', level: 'task', representative: 'b__x-2' });
    expect(plan([a, b], { exact: { tasks: false }, minhash: { enabled: false } }).decisions.every((d) => d.keep)).toBe(true);
  });
});

describe('near-duplicate tasks (MinHash LSH)', () => {
  it('clusters statements above the threshold and not those below it', () => {
    expect(trueJaccard(BASE, NEAR)).toBeGreaterThan(0.85);
    expect(trueJaccard(BASE, FAR)).toBeLessThan(0.6);
    const base = makeRecord({ task_id: 'base__t-1', task: BASE, resolved: true });
    const near = makeRecord({ task_id: 'near__t-2', task: NEAR });
    const far = makeRecord({ task_id: 'far__t-3', task: FAR });
    const other = makeRecord({ task_id: 'other__t-4', task: OTHER });
    const { decisions, planner } = plan([near, base, far, other]);
    expect(decisions[0]).toMatchObject({ keep: false, reason: 'near-duplicate-task', representative: 'base__t-1' });
    expect(decisions[0]!.similarity).toBeGreaterThan(0.75);
    expect(decisions.slice(1).map((d) => d.keep)).toEqual([true, true, true]);
    const cluster = planner.clusters.find((c) => c.level === 'task')!;
    expect(cluster.members.map((m) => m.task_id)).toEqual(['base__t-1', 'near__t-2']);
    expect(cluster.members[1]).toMatchObject({ kept: false, why: 'near-duplicate-task' });
  });

  it('follows the configured threshold: lowered, the far statement clusters too; raised to 1, nothing does', () => {
    const recs = [makeRecord({ task_id: 'base__t-1', task: BASE, resolved: true }), makeRecord({ task_id: 'near__t-2', task: NEAR }), makeRecord({ task_id: 'far__t-3', task: FAR })];
    // A low threshold needs bands that make such pairs candidates at all.
    const low = plan(recs, { minhash: { threshold: 0.3, bands: 32, rows: 2 } }).decisions;
    expect(low.map((d) => d.keep)).toEqual([true, false, false]);
    const high = plan(recs, { minhash: { threshold: 1 } }).decisions;
    expect(high.every((d) => d.keep)).toBe(true);
  });

  it('is deterministic and independent of input order', () => {
    const recs = [BASE, NEAR, FAR, OTHER, edit(BASE, [['dot', 'period']])].map((task, i) => makeRecord({ task_id: `t__t-${i}`, task }));
    const kept = (rs: typeof recs) => {
      const { decisions } = plan(rs);
      return rs.filter((_, i) => decisions[i]!.keep).map((r) => r.task_id).sort();
    };
    expect(kept(recs)).toEqual(kept([...recs].reverse()));
    expect(plan(recs).planner.clusters).toEqual(plan(recs).planner.clusters);
  });
});

describe('exact trajectory dedup', () => {
  it('drops a run with the same actions in the same order, keeping the resolved copy', () => {
    const steps = [{ command: 'ls' }, { command: 'pytest', obs: 'fail' }];
    const failed = makeRecord({ steps, resolved: false });
    const resolved = makeRecord({ steps: steps.map((s) => ({ ...s, obs: 'other output' })), resolved: true });
    const different = makeRecord({ steps: [{ command: 'cat a.py' }], resolved: false });
    expect(failed.id).not.toBe(resolved.id);
    const { decisions, planner } = plan([failed, resolved, different]);
    expect(decisions.map((d) => d.keep)).toEqual([false, true, true]);
    expect(decisions[0]).toMatchObject({ reason: 'duplicate-trajectory', representative: resolved.id });
    expect(planner.clusters.find((c) => c.level === 'trajectory')?.representative).toBe(resolved.id);
  });

  it('treats the same run read twice as one', () => {
    const r = makeRecord({});
    const { decisions } = plan([r, { ...r, source: { ...r.source, record: 1 } }]);
    expect(decisions.map((d) => d.reason)).toEqual([null, 'duplicate-trajectory']);
  });
});

describe('per-task cap', () => {
  const runs = (n: number, resolvedAt: number) =>
    Array.from({ length: n }, (_, i) => makeRecord({ steps: [{ command: `approach ${i}` }, { command: `test ${i}` }], resolved: i === resolvedAt }));

  it('keeps the resolved run', () => {
    for (const at of [0, 2, 4]) {
      const recs = runs(5, at);
      const { decisions } = plan(recs, { per_task_cap: 1 });
      expect(decisions.filter((d) => d.keep)).toHaveLength(1);
      expect(decisions[at]!.keep).toBe(true);
      expect(decisions.filter((d) => !d.keep).every((d) => d.reason === 'per-task-cap' && d.representative === recs[at]!.id)).toBe(true);
    }
  });

  it('then the most different runs', () => {
    const resolved = makeRecord({ steps: [{ command: 'grep -rn bug' }, { command: 'vim a.py' }, { command: 'pytest' }], resolved: true });
    const similar = makeRecord({ steps: [{ command: 'grep -rn bug' }, { command: 'vim a.py' }, { command: 'pytest -x' }], resolved: false });
    const different = makeRecord({ steps: [{ command: 'find . -name "*.cfg"' }, { command: 'python repro.py' }, { command: 'git diff' }], resolved: false });
    const { decisions, planner } = plan([similar, resolved, different], { per_task_cap: 2 });
    expect(decisions.map((d) => d.keep)).toEqual([false, true, true]);
    expect(decisions[0]).toMatchObject({ reason: 'per-task-cap', representative: resolved.id });
    const cap = planner.clusters.find((c) => c.level === 'per-task-cap')!;
    expect(cap.members.filter((m) => m.kept).map((m) => m.id).sort()).toEqual([resolved.id, different.id].sort());
  });

  it('selectDiverse takes every preferred item before any other', () => {
    const sig = (v: number) => new Uint32Array(8).fill(v);
    const items = [
      { key: 'r1', preferred: true, sig: sig(1) },
      { key: 'r2', preferred: true, sig: sig(1) },
      { key: 'f1', preferred: false, sig: sig(9) },
    ];
    expect(selectDiverse(items, 2).kept).toEqual(['r1', 'r2']);
    expect(selectDiverse(items, 2).dropped).toEqual([{ key: 'f1', nearest: 'r1', distance: 1 }]);
  });
});

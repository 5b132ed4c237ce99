import { describe, expect, it } from 'vitest';
import { LabelIndex, outcomeScope, parseOutcomeFile } from '../../src/formats/labels/index.js';

describe('outcome files', () => {
  it('results.json: inconsistent list names, resolved beats failure lists, incomplete gives no verdict', () => {
    const parsed = parseOutcomeFile(
      { total_instances: 4, resolved: ['a', 'd'], unresolved_ids: ['b'], error_ids: ['c', 'd'], empty_patch_ids: [], incomplete_ids: ['e'], completed_ids: ['a', 'b'] },
      'run/results/results.json',
    );
    expect(parsed?.kind).toBe('labels');
    if (parsed?.kind !== 'labels') return;
    expect(parsed.format).toBe('swebench-results');
    expect(Object.fromEntries([...parsed.verdicts].map(([k, v]) => [k, [v.resolved, v.status]]))).toEqual({
      a: [true, 'resolved'],
      b: [false, 'unresolved'],
      c: [false, 'error'],
      d: [true, 'resolved'],
      e: [null, 'incomplete'],
    });
  });

  it('sb-cli report: resolved_ids / unresolved_ids', () => {
    const parsed = parseOutcomeFile({ resolved_ids: ['x'], unresolved_ids: ['y'], schema_version: 2 }, 'report-anything.json');
    expect(parsed?.kind === 'labels' && [...parsed.verdicts.entries()].map(([k, v]) => [k, v.resolved])).toEqual([['y', false], ['x', true]]);
  });

  it('report.json flat: id from <iid>.report.json or logs/<iid>/report.json; failing tests kept', () => {
    const report = { patch_is_None: false, patch_exists: true, resolved: false, tests_status: { FAIL_TO_PASS: { success: [], failure: ['t1'] }, PASS_TO_PASS: { success: [], failure: ['t2'] } } };
    const a = parseOutcomeFile(report, 'logs/acme__a-1.report.json');
    const b = parseOutcomeFile(report, 'logs/acme__b-2/report.json');
    expect(a?.kind === 'labels' && a.verdicts.get('acme__a-1')).toEqual({ resolved: false, status: 'unresolved', failing_tests: ['t1', 't2'] });
    expect(b?.kind === 'labels' && b.verdicts.get('acme__b-2')?.resolved).toBe(false);
    expect(b?.kind === 'labels' && b.id_from_dir).toBe(true);
    const empty = parseOutcomeFile({ ...report, patch_is_None: true }, 'x.report.json');
    expect(empty?.kind === 'labels' && empty.verdicts.get('x')?.status).toBe('empty_patch');
  });

  it('report.json keyed by instance id, summaries, predictions; anything else is not an outcome file', () => {
    const keyed = parseOutcomeFile({ 'acme__a-1': { resolved: true }, 'acme__b-2': { resolved: false } }, 'report.json');
    expect(keyed?.kind === 'labels' && [...keyed.verdicts.values()].map((v) => v.resolved)).toEqual([true, false]);
    const summary = parseOutcomeFile({ total: 1, instances: [{ instance_id: 'q', resolved: true }] }, 'results_summary.json');
    expect(summary?.kind === 'labels' && summary.format).toBe('summary');
    const preds = parseOutcomeFile({ q: { instance_id: 'q', model_patch: 'diff', model_name_or_path: 'm' } }, 'preds.json');
    expect(preds?.kind === 'patches' && preds.patches.get('q')).toBe('diff');
    expect(parseOutcomeFile({ name: 'not labels', oss: true }, 'metadata.json')).toBeNull();
    expect(parseOutcomeFile({ messages: [{ role: 'user', content: 'x' }], resolved: true }, 'row.json')).toBeNull();
  });
});

describe('label index', () => {
  const results = (resolved: string[], unresolved: string[]) => parseOutcomeFile({ resolved, unresolved_ids: unresolved }, 'x')!;

  it('scopes a results.json to its run folder (results/ and logs/ levels removed)', () => {
    expect(outcomeScope('/data/runA/results/results.json', false)).toBe('/data/runA');
    expect(outcomeScope('/data/runA/logs/acme__x-1/report.json', true)).toBe('/data/runA');
    expect(outcomeScope('/data/runA/report.json', false)).toBe('/data/runA');
  });

  it('two model folders with the same task never share a verdict; the nearest file wins', () => {
    const idx = new LabelIndex();
    idx.add(results(['t'], []), '/d/modelA/results/results.json', false);
    idx.add(results([], ['t']), '/d/modelB/results/results.json', false);
    expect(idx.lookup('t', '/d/modelA/trajs/t.traj')?.verdict.resolved).toBe(true);
    expect(idx.lookup('t', '/d/modelB/trajs/t.traj')?.verdict.resolved).toBe(false);
    expect(idx.lookup('t', '/d/modelC/trajs/t.traj')).toBeNull();
    idx.add(results([], ['t']), '/d/results.json', false);
    const hit = idx.lookup('t', '/d/modelA/trajs/t.traj')!;
    expect(hit.verdict.resolved).toBe(true);
    expect(hit.conflict).toBe(true);
  });

  it('files named in the config apply everywhere and win', () => {
    const idx = new LabelIndex();
    idx.add(results(['t'], []), '/d/modelA/results/results.json', false);
    idx.add(results([], ['t']), 'labels/override.json', true);
    expect(idx.lookup('t', '/d/modelA/trajs/t.traj')).toMatchObject({ explicit: true, file: 'labels/override.json', verdict: { resolved: false } });
  });
});

import { describe, expect, it } from 'vitest';
import { SegmentConfig, SftRow, type PipelineRecord, type SegmentPolicy } from '../../schemas/index.js';
import { toSftRow } from '../../src/stages/export/rows.js';
import { decideSegment } from '../../src/stages/segment/decide.js';
import { decidePolicy } from '../../src/stages/segment/policies/index.js';
import { valueWeights } from '../../src/stages/segment/policies/value-weighted.js';
import { DEFAULT_ROW_CHECKS, weightsMatchLoss } from '../../src/validate/checks.js';
import { assistantIndex, makeRecord, type RunSpec } from './fixtures.js';

const cfg = (o: Record<string, unknown> = {}) => SegmentConfig.parse(o);

/** makeRecord plus per-step verdicts and error flags. */
function run(spec: RunSpec & { verdicts?: boolean[]; errors?: Record<number, 'format_error' | 'timeout' | 'harness_error' | 'runtime_error'> }): PipelineRecord {
  const r = makeRecord(spec);
  if (spec.verdicts) {
    r.values = r.values
      ? { ...r.values, verdicts: spec.verdicts }
      : { labeler: 'teacher', model: 'fake', prompt_version: 'v-test', values: spec.verdicts.map(() => 0.5), samples: null, spread: null, peak_disagreement: null, flags: [], request_hash: null, verdicts: spec.verdicts };
  }
  for (const [i, flag] of Object.entries(spec.errors ?? {})) r.steps[Number(i)]!.flags[flag] = true;
  return r;
}

function decide(policy: SegmentPolicy, r: PipelineRecord, o: Record<string, unknown> = {}) {
  return decidePolicy(policy, r, cfg(o));
}

/** The exported row of a record under a policy (throws when the policy drops it). */
function row(policy: SegmentPolicy, r: PipelineRecord, o: Record<string, unknown> = {}): SftRow {
  const d = decide(policy, r, o);
  if (d.kind !== 'train') throw new Error(`dropped: ${d.reason}`);
  return SftRow.parse(toSftRow({ ...r, segment: d.segment }));
}

const losses = (r: SftRow) => r.messages.map((m) => m.loss);
const weights = (r: SftRow) => r.messages.map((m) => m.weight ?? null);
const problems = (r: SftRow) => DEFAULT_ROW_CHECKS.map((c) => c(r)).filter((p) => p !== null);

describe('rising-segment through decidePolicy is the segment stage of before', () => {
  it('gives exactly decideSegment\'s decision', () => {
    const r = makeRecord({ name: 'u', resolved: false, steps: 5, values: [0.3, 0.5, 0.7, 0.4, 0.2] });
    expect(decide('rising-segment', r)).toEqual(decideSegment(r, cfg()));
  });
});

describe('step-rejection', () => {
  const failed = run({ name: 'sr', resolved: false, steps: 5, values: [0.3, 0.5, 0.7, 0.4, 0.2], verdicts: [true, false, true, false, true] });

  it('trains the steps judged correct, keeps the incorrect ones in the context untrained, never the submission', () => {
    const d = decide('step-rejection', failed);
    expect(d).toMatchObject({ kind: 'train', segment: { trained_steps: [0, 2], policy: 'step-rejection', cut_after: assistantIndex(2) } });
    const r = row('step-rejection', failed);
    // messages 0..6: system, user, step 0 (trained), obs, step 1 (incorrect: in the context, untrained), obs, step 2 (trained)
    expect(losses(r)).toEqual([null, null, true, null, false, null, true]);
    expect(weights(r).every((w) => w === null)).toBe(true);
    expect(JSON.parse(r.metadata)).toMatchObject({ policy: 'step-rejection' });
    expect(problems(r)).toEqual([]);
  });

  it('keep_after_span keeps the rejected steps after the last correct one, masked', () => {
    const r = row('step-rejection', failed, { keep_after_span: true });
    // Every message up to the submission (the observation after it is never exported).
    expect(losses(r)).toEqual([null, null, true, null, false, null, true, null, false, null, false]);
  });

  it('a failed run without verdicts is dropped with a reason, as are mismatched and all-incorrect verdicts', () => {
    const none = decide('step-rejection', makeRecord({ name: 'nv', resolved: false, steps: 3, values: [0.5, 0.6, 0.2] }));
    expect(none).toMatchObject({ kind: 'drop', reason: 'no-step-verdicts' });
    if (none.kind === 'drop') expect(none.message).toMatch(/test\.jsonl record 0.*no per-step verdicts/);
    expect(decide('step-rejection', run({ name: 'mm', resolved: false, steps: 3, verdicts: [true, true] }))).toMatchObject({ kind: 'drop', reason: 'verdicts-steps-mismatch' });
    expect(decide('step-rejection', run({ name: 'bad', resolved: false, steps: 3, verdicts: [false, false, true] }))).toMatchObject({ kind: 'drop', reason: 'no-correct-step' });
  });

  it('a resolved run is trained whole, verdicts or not', () => {
    const r = row('step-rejection', makeRecord({ name: 'ok', resolved: true, steps: 3 }));
    expect(losses(r)).toEqual([null, null, true, null, true, null, true]);
  });
});

describe('first-error-prefix', () => {
  it('with verdicts: the steps before the first one judged incorrect', () => {
    const r = run({ name: 'fe', resolved: false, steps: 5, values: [0.3, 0.5, 0.7, 0.4, 0.2], verdicts: [true, true, false, true, true] });
    expect(decide('first-error-prefix', r)).toMatchObject({ kind: 'train', segment: { trained_steps: [0, 1], critical_step: 2, note: 'first error: step 2 (from verdicts)' } });
    expect(losses(row('first-error-prefix', r))).toEqual([null, null, true, null, true]);
  });

  it('without verdicts: the steps before the first fall of at least min_drop, which can come before the peak', () => {
    // Falls at step 2 (0.52 -> 0.30), then recovers to the peak at step 3: rising-segment trains 0..3, this policy 0..1.
    const r = makeRecord({ name: 'fv', resolved: false, steps: 5, values: [0.5, 0.52, 0.3, 0.8, 0.1] });
    expect(decide('first-error-prefix', r)).toMatchObject({ kind: 'train', segment: { trained_steps: [0, 1], critical_step: 2 } });
    expect(decide('rising-segment', r)).toMatchObject({ kind: 'train', segment: { trained_steps: [0, 1, 2, 3] } });
    // A fall below min_drop is no error.
    const small = makeRecord({ name: 'fs', resolved: false, steps: 4, values: [0.5, 0.48, 0.7, 0.1] });
    expect(decide('first-error-prefix', small)).toMatchObject({ kind: 'train', segment: { trained_steps: [0, 1, 2], critical_step: 3 } });
  });

  it('no error marked, an error at step 0, or no labels at all: dropped, never trained whole', () => {
    expect(decide('first-error-prefix', run({ name: 'n1', resolved: false, steps: 3, verdicts: [true, true, true] }))).toMatchObject({ kind: 'drop', reason: 'no-first-error' });
    expect(decide('first-error-prefix', run({ name: 'n0', resolved: false, steps: 3, verdicts: [false, true, true] }))).toMatchObject({ kind: 'drop', reason: 'empty-prefix' });
    expect(decide('first-error-prefix', makeRecord({ name: 'nl', resolved: false, steps: 3, values: null }))).toMatchObject({ kind: 'drop', reason: 'unlabelled-failed-run' });
  });
});

describe('error-masking', () => {
  it('a failed run: every turn but those answered with an error, and never the submission; no labels needed', () => {
    const r = run({ name: 'em', resolved: false, steps: 5, values: null, errors: { 1: 'format_error', 2: 'timeout' } });
    expect(decide('error-masking', r)).toMatchObject({ kind: 'train', segment: { trained_steps: [0, 3], cut_after: assistantIndex(3), note: '2 turn(s) answered with an error: not trained' } });
    expect(losses(row('error-masking', r))).toEqual([null, null, true, null, false, null, false, null, true]);
  });

  it('a resolved run keeps every message and leaves its error turns untrained; validate accepts it', () => {
    const r = run({ name: 'er', resolved: true, steps: 4, errors: { 1: 'harness_error', 2: 'runtime_error' } });
    const x = row('error-masking', r);
    expect(losses(x)).toEqual([null, null, true, null, false, null, false, null, true]);
    expect(JSON.parse(x.metadata)).toMatchObject({ policy: 'error-masking' });
    expect(problems(x)).toEqual([]);
    // The same row claimed by rising-segment would break "resolved runs are trained whole".
    const meta = JSON.parse(x.metadata) as Record<string, unknown>;
    delete meta['policy'];
    expect(problems({ ...x, metadata: JSON.stringify(meta) })).toHaveLength(1);
  });

  it('a run whose every turn is an error is dropped', () => {
    expect(decide('error-masking', run({ name: 'ea', resolved: false, steps: 2, errors: { 0: 'format_error' } }))).toMatchObject({ kind: 'drop', reason: 'all-turns-errors' });
  });
});

describe('value-weighted', () => {
  it('c_t = V(s_t+1) - V(s_t) clipped to [0, 1], V before step 0 is 0, submissions 0, rounded so float residue trains nothing', () => {
    expect(valueWeights([0.3, 0.5, 0.7, 0.4, 0.2], new Set([4]))).toEqual([0.3, 0.2, 0.2, 0, 0]);
    expect(valueWeights([0.1, 0.3, 0.3 + 1e-12], new Set())).toEqual([0.1, 0.2, 0]);
  });

  it('trains the steps that raised the value, each weighted by how much, even after a fall', () => {
    const r = makeRecord({ name: 'vw', resolved: false, steps: 5, values: [0.3, 0.6, 0.4, 0.7, 0.2] });
    const x = row('value-weighted', r);
    // steps 0, 1, 3 rose (0.3, 0.3, 0.3); step 2 fell; step 4 submits; cut after step 3's turn (message 8).
    expect(losses(x)).toEqual([null, null, true, null, true, null, false, null, true]);
    expect(weights(x)).toEqual([null, null, 0.3, null, 0.3, null, 0, null, 0.3]);
    expect(problems(x)).toEqual([]);
  });

  it('resolved runs are trained whole with weight 1; failed runs whose curve never falls are suspicious; no rise is dropped', () => {
    expect(weights(row('value-weighted', makeRecord({ name: 'vr', resolved: true, steps: 2 })))).toEqual([null, null, 1, null, 1]);
    expect(decide('value-weighted', makeRecord({ name: 'vs', resolved: false, steps: 4, values: [0.2, 0.4, 0.6, 0.9] }))).toMatchObject({ kind: 'drop', reason: 'suspicious-curve' });
    expect(decide('value-weighted', makeRecord({ name: 'vf', resolved: false, steps: 3, values: [0, 0, 0] }))).toMatchObject({ kind: 'drop', reason: 'suspicious-curve' });
    expect(decide('value-weighted', makeRecord({ name: 'vz', resolved: false, steps: 3, values: [0, 0, 0] }), { suspicious_curves: 'keep' })).toMatchObject({
      kind: 'drop',
      reason: 'no-positive-increment',
    });
  });
});

describe('every policy shares the gates before it', () => {
  it('no agent turn, segment disabled, unknown outcome: the same reasons for every policy', () => {
    for (const p of ['rising-segment', 'step-rejection', 'first-error-prefix', 'error-masking', 'value-weighted'] as const) {
      expect(decide(p, makeRecord({ name: 'z', resolved: false, steps: 0 }))).toMatchObject({ kind: 'drop', reason: 'no-agent-turns' });
      expect(decide(p, makeRecord({ name: 'd', resolved: false, steps: 3, values: [0.3, 0.6, 0.1] }), { enabled: false })).toMatchObject({ kind: 'drop', reason: 'segment-disabled' });
      expect(decide(p, makeRecord({ name: 'q', resolved: null, steps: 3, values: [0.3, 0.6, 0.1] }))).toMatchObject({ kind: 'drop', reason: 'unknown-outcome' });
    }
  });

  it('segment.policies must list each policy once and at least one', () => {
    expect(SegmentConfig.parse({}).policies).toEqual(['rising-segment']);
    expect(() => SegmentConfig.parse({ policies: [] })).toThrow();
    expect(() => SegmentConfig.parse({ policies: ['error-masking', 'error-masking'] })).toThrow(/twice/);
    expect(() => SegmentConfig.parse({ policies: ['best-guess'] })).toThrow();
  });
});

describe('validate: weights agree with the loss mask', () => {
  const base = row('value-weighted', makeRecord({ name: 'vv', resolved: false, steps: 5, values: [0.3, 0.6, 0.4, 0.7, 0.2] }));
  const edit = (i: number, m: Partial<SftRow['messages'][number]>): SftRow => ({ ...base, messages: base.messages.map((x, j) => (j === i ? { ...x, ...m } : x)) });

  it('accepts a weighted row and an unweighted one', () => {
    expect(weightsMatchLoss(base)).toBeNull();
    expect(weightsMatchLoss(row('rising-segment', makeRecord({ name: 'rr', resolved: false, steps: 5, values: [0.3, 0.5, 0.7, 0.4, 0.2] })))).toBeNull();
  });

  it('rejects a weight on a tool message, a trained turn of weight 0, an untrained turn with weight, a missing weight', () => {
    expect(weightsMatchLoss(edit(3, { weight: 0.5 }))).toMatch(/message 3 \(tool\) has weight=0\.5/);
    expect(weightsMatchLoss(edit(2, { weight: 0 }))).toMatch(/message 2 is trained \(loss=true\) with weight 0/);
    expect(weightsMatchLoss(edit(6, { weight: 0.2 }))).toMatch(/message 6 is not trained \(loss=false\) but has weight 0\.2/);
    expect(weightsMatchLoss(edit(4, { weight: null }))).toMatch(/message 4 \(assistant\) has no weight/);
    expect(SftRow.safeParse(edit(2, { weight: 1.5 })).success).toBe(false);
  });
});

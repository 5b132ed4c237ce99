import { describe, expect, it } from 'vitest';
import { SegmentConfig } from '../../schemas/index.js';
import { decideSegment } from '../../src/stages/segment/decide.js';
import { assistantIndex, makeRecord } from './fixtures.js';

const cfg = (o: Record<string, unknown> = {}) => SegmentConfig.parse(o);

describe('decideSegment: what a record trains', () => {
  it('a resolved run trains every agent turn, its submission included, and keeps every message', () => {
    const d = decideSegment(makeRecord({ name: 'ok', resolved: true, steps: 4 }), cfg());
    expect(d.kind).toBe('train');
    if (d.kind !== 'train') return;
    expect(d.segment.trained_steps).toEqual([0, 1, 2, 3]);
    expect(d.segment.train_start).toBe(assistantIndex(0));
    expect(d.segment.train_end).toBe(assistantIndex(3));
    expect(d.segment.shape).toBeNull();
    expect(d.segment.cut_after).toBeNull();
  });

  it('a labelled failed run trains up to its peak, never its submission, and is cut after the last trained turn', () => {
    const r = makeRecord({ name: 'f', resolved: false, steps: 5, values: [0.3, 0.5, 0.7, 0.4, 0.2] });
    const d = decideSegment(r, cfg());
    expect(d.kind).toBe('train');
    if (d.kind !== 'train') return;
    expect(d.segment).toMatchObject({ trained_steps: [0, 1, 2], peak_step: 2, peak_value: 0.7, critical_step: 3, shape: 'inverted-u', note: null });
    expect(d.segment.train_start).toBe(assistantIndex(0));
    expect(d.segment.train_end).toBe(assistantIndex(2));
    expect(d.segment.cut_after).toBe(assistantIndex(2));
    const kept = decideSegment(r, cfg({ keep_after_span: true }));
    expect(kept.kind === 'train' && kept.segment.cut_after).toBeNull();
  });

  it('a rising failed run whose peak is the submission trains the turns before it (when suspicious curves are kept)', () => {
    const d = decideSegment(makeRecord({ name: 'r', resolved: false, steps: 3, values: [0.2, 0.4, 0.9] }), cfg({ suspicious_curves: 'keep' }));
    expect(d.kind === 'train' && d.segment.trained_steps).toEqual([0, 1]);
    expect(d).toMatchObject({ suspicious: true, segment: { note: expect.stringMatching(/^suspicious: the curve of a failed run never falls/) } });
  });

  it('a failed run whose curve never falls or never moves is dropped as suspicious-curve by default', () => {
    const rising = decideSegment(makeRecord({ name: 'r', resolved: false, steps: 4, values: [0.2, 0.4, 0.6, 0.9] }), cfg());
    expect(rising).toMatchObject({ kind: 'drop', reason: 'suspicious-curve', shape: 'rising', details: { shape: 'rising' } });
    if (rising.kind === 'drop') expect(rising.message).toMatch(/never falls/);
    const constant = decideSegment(makeRecord({ name: 'c', resolved: false, steps: 4, values: [1, 1, 1, 1] }), cfg());
    expect(constant).toMatchObject({ kind: 'drop', reason: 'suspicious-curve', shape: 'flat' });
    // An ordinary inverted U is not suspicious.
    expect(decideSegment(makeRecord({ name: 'u', resolved: false, steps: 4, values: [0.3, 0.7, 0.4, 0.2] }), cfg())).toMatchObject({ kind: 'train', suspicious: false });
  });

  it('a failed run whose values label flagged echoes-planted-instruction is suspicious whatever its shape', () => {
    const r = makeRecord({ name: 'e', resolved: false, steps: 4, values: [0.3, 1, 0.4, 0.2] });
    const flagged = { ...r, values: { ...r.values!, flags: ['planted-instruction', 'echoes-planted-instruction'] } };
    const d = decideSegment(flagged, cfg());
    expect(d).toMatchObject({ kind: 'drop', reason: 'suspicious-curve', shape: 'inverted-u', details: { echoes_planted_instruction: true } });
    if (d.kind === 'drop') expect(d.message).toMatch(/does what an instruction planted in the run asked/);
    expect(decideSegment(flagged, cfg({ suspicious_curves: 'keep' }))).toMatchObject({ kind: 'train', suspicious: true });
    // The planted text alone (the teacher did not follow it) changes nothing.
    expect(decideSegment({ ...r, values: { ...r.values!, flags: ['planted-instruction'] } }, cfg())).toMatchObject({ kind: 'train', suspicious: false });
  });

  it('a failed run without values is dropped, never trained whole', () => {
    const d = decideSegment(makeRecord({ name: 'u', resolved: false, steps: 3, values: null }), cfg());
    expect(d).toMatchObject({ kind: 'drop', reason: 'unlabelled-failed-run' });
    if (d.kind === 'drop') expect(d.message).toMatch(/test\.jsonl record 0/);
  });

  it('values that do not match the steps are dropped', () => {
    const d = decideSegment(makeRecord({ name: 'm', resolved: false, steps: 3, values: [0.5, 0.4] }), cfg());
    expect(d).toMatchObject({ kind: 'drop', reason: 'values-steps-mismatch' });
  });

  it('an unproductive failed run is dropped as no-productive-prefix with its shape counted', () => {
    const d = decideSegment(makeRecord({ name: 'z', resolved: false, steps: 3, values: [0, 0, 0] }), cfg());
    expect(d).toMatchObject({ kind: 'drop', reason: 'no-productive-prefix', shape: 'flat', details: { why: 'low-peak' } });
  });

  it('unknown outcomes are dropped by default, or cut like failed runs with unknown_outcome: as-failed', () => {
    const r = makeRecord({ name: 'q', resolved: null, steps: 4, values: [0.4, 0.6, 0.3, 0.2] });
    expect(decideSegment(r, cfg())).toMatchObject({ kind: 'drop', reason: 'unknown-outcome' });
    const d = decideSegment(r, cfg({ unknown_outcome: 'as-failed' }));
    expect(d).toMatchObject({ kind: 'train', outcome: 'unknown' });
    expect(d.kind === 'train' && d.segment.trained_steps).toEqual([0, 1]);
  });

  it('segment.enabled: false keeps resolved runs whole and drops failed ones (an outcome-filtered baseline)', () => {
    expect(decideSegment(makeRecord({ name: 'a', resolved: true, steps: 2 }), cfg({ enabled: false })).kind).toBe('train');
    const d = decideSegment(makeRecord({ name: 'b', resolved: false, steps: 2, values: [0.5, 0.1] }), cfg({ enabled: false }));
    expect(d).toMatchObject({ kind: 'drop', reason: 'segment-disabled' });
  });

  it('a run with no agent turn is dropped', () => {
    expect(decideSegment(makeRecord({ name: 'e', resolved: true, steps: 0 }), cfg())).toMatchObject({ kind: 'drop', reason: 'no-agent-turns' });
  });
});

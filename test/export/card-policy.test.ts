import { describe, expect, it } from 'vitest';
import { policySection, type PolicyCounts } from '../../src/stages/export/card-policy.js';

const first: PolicyCounts = { policy: 'rising-segment', folder: '.', rows: 18, trained_turns: 68, weighted_turns: 0, dropped: {} };
const vw: PolicyCounts = { policy: 'value-weighted', folder: 'variants/value-weighted', rows: 17, trained_turns: 71, weighted_turns: 71, dropped: { 'suspicious-curve': 1 } };
const sr: PolicyCounts = { policy: 'step-rejection', folder: 'variants/step-rejection', rows: 11, trained_turns: 52, weighted_turns: 0, dropped: { 'no-step-verdicts': 7 } };

describe('the card\'s credit-assignment policy section', () => {
  it('states the policy, its source and counts; alone it lists no siblings', () => {
    const s = policySection({ self: first, all: [first] });
    expect(s).toContain('made with the policy `rising-segment` (Orchard, arXiv 2605.15040');
    expect(s).toContain('18 rows, 68 trained assistant turns; 0 run(s)');
    expect(s).not.toMatch(/datasets, one per configured policy/);
    expect(s).not.toMatch(/messages\[\]\.weight/);
  });

  it('lists every sibling with a path relative to this card, and the reasons this policy left runs out', () => {
    const all = [first, sr, vw];
    const fromFirst = policySection({ self: first, all });
    expect(fromFirst).toContain('| step-rejection | `variants/step-rejection/` | 11 | 52 | 0 | 7 |');
    const fromVariant = policySection({ self: vw, all });
    expect(fromVariant).toContain('| rising-segment | `../../` | 18 | 68 | 0 | 0 |');
    expect(fromVariant).toContain('| value-weighted (this one) | `../../variants/value-weighted/` | 17 | 71 | 71 | 1 |');
    expect(fromVariant).toContain('| suspicious-curve | 1 |');
    expect(fromVariant).toContain('71 of them weighted');
    expect(fromVariant).toMatch(/Rows carry `messages\[\]\.weight`/);
  });
});

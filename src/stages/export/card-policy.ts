import type { SegmentPolicy } from '../../../schemas/index.js';
import { POLICY_SOURCES } from '../../core/policies.js';

// The dataset card's "Credit-assignment policy" section: which policy made this dataset, its counts, and
// the sibling datasets made from the same labels by the other configured policies.

export interface PolicyCounts {
  policy: SegmentPolicy;
  /** Relative to the export folder: '.' for the first policy, 'variants/<policy>' for the others. */
  folder: string;
  rows: number;
  trained_turns: number;
  weighted_turns: number;
  dropped: Record<string, number>;
}

export interface PolicyCardInput {
  self: PolicyCounts;
  /** Every configured policy's dataset, this one included, in config order. */
  all: readonly PolicyCounts[];
}

/** Where dataset `to` is, seen from the folder of dataset `from`. */
function relative(from: string, to: string): string {
  const up = from === '.' ? '' : '../../';
  return to === '.' ? up || './' : `${up}${to}/`;
}

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

const WEIGHTS_NOTE =
  'Rows carry `messages[].weight`: the loss weight of each assistant turn (above 0 exactly where `loss` is true, 0 where it is false, ' +
  'null on other messages). A trainer that ignores weights trains the `loss: true` turns unweighted; docs/segmentation.md lists which trainers read per-token or per-turn weights.\n';

export function policySection(p: PolicyCardInput): string {
  const s = p.self;
  const left = Object.entries(s.dropped).sort(([a], [b]) => (a < b ? -1 : 1));
  const parts = [
    `## Credit-assignment policy\n\n` +
      `This dataset was made with the policy \`${s.policy}\` (${POLICY_SOURCES[s.policy]}; docs/segmentation.md, "Policies"). ` +
      `${s.rows} rows, ${s.trained_turns} trained assistant turns${s.weighted_turns ? `, ${s.weighted_turns} of them weighted` : ''}; ` +
      `${total(s.dropped)} run(s) that reached export were left out by this policy${left.length ? ':' : '.'}\n`,
  ];
  if (left.length) parts.push(`\n| reason | runs |\n|---|---:|\n${left.map(([r, n]) => `| ${r} | ${n} |`).join('\n')}\n`);
  if (s.weighted_turns) parts.push(`\n${WEIGHTS_NOTE}`);
  if (p.all.length > 1) {
    parts.push(
      `\nThe same labels (one label pass, one teacher cache) made ${p.all.length} datasets, one per configured policy (\`segment.policies\`), so they compare on identical upstream data:\n\n` +
        `| policy | folder | rows | trained turns | weighted turns | runs left out |\n|---|---|---:|---:|---:|---:|\n` +
        p.all
          .map((d) => `| ${d.policy}${d.policy === s.policy ? ' (this one)' : ''} | \`${relative(s.folder, d.folder)}\` | ${d.rows} | ${d.trained_turns} | ${d.weighted_turns} | ${total(d.dropped)} |`)
          .join('\n') +
        '\n',
    );
  }
  return parts.join('');
}

import type { PoolConfig } from '../../../schemas/index.js';
import { BANDS, type Band, type TaskRow } from './tasks.js';

// <out>/pool/README.md: what the task table and the pool hold, rendered from counts only (deterministic).

export interface PoolCardInput {
  name: string;
  config: PoolConfig;
  rows: readonly TaskRow[];
  pool: readonly TaskRow[];
  bands: Record<string, number>;
  decontaminated: number;
}

const BAND_MEANING: Record<Band, string> = {
  'never-solved': 'pass rate 0: no known attempt resolved the task',
  intermediate: 'pass rate strictly between 0 and 1',
  'always-solved': 'pass rate 1: every known attempt resolved it',
  unknown: `fewer known-outcome attempts than \`min_known_attempts\` (no pass rate)`,
};

function bandText(c: PoolConfig): string {
  const lo = c.band.include_min ? '[' : '(';
  const hi = c.band.include_max ? ']' : ')';
  return `${lo}${c.band.min}, ${c.band.max}${hi}`;
}

export function renderPoolCard(input: PoolCardInput): string {
  const c = input.config;
  const attempts = input.rows.reduce((a, r) => a + r.attempts, 0);
  const unknownAttempts = input.rows.reduce((a, r) => a + r.unknown_attempts, 0);
  const bandRows = BANDS.map((b) => `| ${b} | ${input.bands[b] ?? 0} | ${BAND_MEANING[b]} |`).join('\n');
  const withRepo = input.rows.filter((r) => r.repo).length;
  const withCommit = input.rows.filter((r) => r.base_commit).length;
  const withImage = input.rows.filter((r) => r.environment_image).length;
  return `# ${input.name}: RL task pool

Every task trajpipe ingested (every attempt, before filtering and dedup), with its pass rate over the attempts
whose outcome is known, and the **pool**: the tasks whose pass rate lies in the band ${bandText(c)}
(\`pool.band\`). With the default band a task in the pool is neither always nor never solved by the teachers,
the tasks on which RL rollouts give a learning signal (a group of rollouts with mixed rewards; cf. Orchard's
Balanced Adaptive Rollout).

- \`tasks-*.parquet\`: ${input.rows.length} task(s) from ${attempts} attempt(s).
- \`pool-*.parquet\`: ${input.pool.length} task(s) in the band, same columns.

## Counts per band

| band | tasks | meaning |
|---|---:|---|
${bandRows}

## How attempts count

- \`pass_rate = resolved_attempts / (resolved_attempts + failed_attempts)\`. An attempt with no outcome label
  (${unknownAttempts} here) is counted in \`attempts\` and \`unknown_attempts\` but never in the pass rate: trajpipe never
  guesses an outcome, and counting it as a failure would push tasks into "never solved".
- A task needs at least ${c.min_known_attempts} known-outcome attempt(s) (\`pool.min_known_attempts\`) to get a pass rate; otherwise its band is \`unknown\` and it is not in the pool.
- Attempts the filter stage dropped for other reasons (loops, infrastructure failures, cut-off runs) still count,
  with their outcome label: the pass rate describes how hard the task was for the teachers, not which runs are trainable.
- **Decontamination:** ${input.decontaminated} task(s) that the filter stage rejected as held-out benchmark tasks
  (\`decontaminated-id\`, \`decontaminated-repo\`, \`decontaminated-statement\`) are in neither table; each of their attempts is
  listed in \`rejects.jsonl\` as \`decontaminated-task\`.${input.decontaminated === 0 ? ' (None here: configure `filter.decontaminate.ids` to hold out a benchmark.)' : ''}

## Columns

\`task_id\`, \`attempts\`, \`resolved_attempts\`, \`failed_attempts\`, \`unknown_attempts\`, \`pass_rate\` (null when \`unknown\`), \`band\`,
\`in_pool\`, \`harnesses\` and \`teacher_models\` (sorted, distinct), \`statement\` (the task statement of the first attempt that has one),
and what a rollout needs to rebuild the environment: \`instance_id\` (a SWE-bench-style id, when the task id is one), \`repo\`
(${withRepo} of ${input.rows.length} tasks), \`base_commit\` (${withCommit}), \`environment_image\` (${withImage}). These come from the run's
\`meta\` when the harness records them (e.g. mini-swe-agent's \`environment_image\`), else from the task id (\`owner__repo-NNN\`:
SWE-bench; \`owner__repo.<commit>.<name>\`: SWE-smith). A null means no source had it: look it up in the benchmark's own table.

## Loading

\`\`\`python
from datasets import load_dataset
pool = load_dataset("parquet", data_files="pool-*.parquet", split="train")
\`\`\`

\`\`\`sql
SELECT band, count(*) FROM read_parquet('tasks-*.parquet') GROUP BY band ORDER BY band;
\`\`\`
`;
}

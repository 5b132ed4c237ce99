import type { UnfinishedConfig } from '../../../schemas/config/filter.js';
import type { PipelineRecord } from '../../../schemas/index.js';
import { anyOf, type FilterRule } from './rule.js';

export function hasSubmission(record: PipelineRecord): boolean {
  if (record.outcome.submitted_patch && record.outcome.submitted_patch.trim() !== '') return true;
  return record.steps.some((s) => s.flags.submit || s.actions.some((a) => a.kind === 'submit'));
}

export function unfinishedRule(cfg: UnfinishedConfig): FilterRule {
  const finished = new Set(cfg.finished_exit_statuses.map((s) => s.toLowerCase()));
  const cutoff = anyOf(cfg.cutoff_patterns);
  return {
    name: 'unfinished',
    applyTo: cfg.apply_to,
    check(record) {
      // A missing exit status (OpenHands keeps none) is judged by the submission alone.
      const status = record.outcome.exit_status?.trim() || null;
      if (status !== null) {
        if (cutoff?.test(status)) {
          return { reason: 'unfinished-cutoff', message: `it was cut off by a limit (exit status "${status}")`, details: { exit_status: status } };
        }
        if (!finished.has(status.toLowerCase())) {
          return {
            reason: 'unfinished-exit-status',
            message: `its exit status "${status}" is not one that counts as finished (${[...finished].join(', ')})`,
            details: { exit_status: status },
          };
        }
      }
      if (cfg.require_submission && !hasSubmission(record)) {
        return { reason: 'unfinished-no-submission', message: 'it ends with no submit action and no submitted patch', details: { exit_status: status } };
      }
      return null;
    },
  };
}

import type { LoopsConfig } from '../../../schemas/config/filter.js';
import type { Step } from '../../../schemas/index.js';
import { observationText, quote, type FilterRule } from './rule.js';

/** What a step did, as one comparable string; a step with no parsable action is "none". */
export function actionKey(step: Step): string {
  if (step.actions.length === 0) return 'none';
  return step.actions.map((a) => [a.kind, a.name ?? '', a.command ?? '', a.arguments ?? ''].join('\u001f')).join('\u001e');
}

function describe(step: Step): string {
  const a = step.actions[0];
  if (!a) return 'no parsable action';
  return quote(a.command ?? (a.name ? `${a.name} ${a.arguments ?? ''}` : a.kind), 60);
}

export function loopsRule(cfg: LoopsConfig): FilterRule {
  return {
    name: 'loops',
    applyTo: cfg.apply_to,
    check(record) {
      let prevKey: string | null = null;
      let repeats = 0;
      const seenActions = new Set<string>();
      const seenObservations = new Set<string>();
      let stale = 0;
      for (const step of record.steps) {
        const key = actionKey(step);
        repeats = key === prevKey ? repeats + 1 : 1;
        prevKey = key;
        if (repeats >= cfg.max_repeats) {
          return {
            reason: 'loop-repeated-action',
            message: `it repeats the same action ${repeats} times in a row up to step ${step.index} (${describe(step)})`,
            details: { step: step.index, repeats },
          };
        }
        // An empty output is normal for an edit; it only counts as nothing new when the action is old too.
        const obs = observationText(record, step).trim();
        const isStale = seenObservations.has(obs) && (obs !== '' || seenActions.has(key));
        stale = isStale ? stale + 1 : 0;
        seenObservations.add(obs);
        seenActions.add(key);
        if (stale >= cfg.max_stale_steps) {
          return {
            reason: 'loop-no-new-observation',
            message: `it spins for ${stale} steps in a row without a new observation, up to step ${step.index}`,
            details: { step: step.index, stale_steps: stale },
          };
        }
      }
      return null;
    },
  };
}

import type { InfrastructureConfig } from '../../../schemas/config/filter.js';
import { anyOf, observationText, quote, type FilterRule } from './rule.js';

/**
 * Failures of the environment rather than the agent. They are dropped under their own infra-*
 * reasons because a teacher cannot learn credit assignment from a broken sandbox.
 */
export function infrastructureRule(cfg: InfrastructureConfig): FilterRule {
  const exitRe = anyOf(cfg.exit_patterns);
  const sandboxRe = anyOf(cfg.sandbox_patterns);
  const networkRe = anyOf(cfg.network_patterns);
  const timeoutRe = anyOf(cfg.timeout_patterns);
  return {
    name: 'infrastructure',
    applyTo: cfg.apply_to,
    check(record) {
      const exitTexts = [record.outcome.exit_status, typeof record.meta.error === 'string' ? record.meta.error : null];
      for (const text of exitTexts) {
        const m = text && exitRe?.exec(text);
        if (m) {
          return {
            reason: 'infra-harness-exit',
            message: `the harness stopped on an environment or API error (${quote(text)})`,
            details: { exit: text.slice(0, 200), matched: m[0] },
          };
        }
      }
      let timeouts = 0;
      const tailStart = record.steps.length - cfg.tail_steps;
      for (const [pos, step] of record.steps.entries()) {
        const obs = observationText(record, step);
        if (step.flags.timeout || timeoutRe?.test(obs)) timeouts++;
        if (timeouts >= cfg.max_timeouts) {
          return {
            reason: 'infra-timeouts',
            message: `${timeouts} commands timed out (by step ${step.index}), which points at the sandbox rather than the agent`,
            details: { timeouts, step: step.index },
          };
        }
        if (pos < tailStart) continue;
        // A harness exit action (exit_api, ...) names its cause; exit_cost and exit_context are limits, left to the unfinished rule.
        const exit = step.actions.find((a) => a.kind === 'exit' && a.name && exitRe?.test(a.name));
        if (exit) {
          return {
            reason: 'infra-harness-exit',
            message: `the harness exited with ${exit.name} at step ${step.index}`,
            details: { step: step.index, exit: exit.name },
          };
        }
        // The harness_error flag alone is not used: harnesses also raise it for cost limits and the agent's own errors.
        const sandbox = sandboxRe?.exec(obs);
        if (sandbox) {
          return {
            reason: 'infra-sandbox',
            message: `the sandbox failed near the end of the run, at step ${step.index} (${quote(sandbox[0])})`,
            details: { step: step.index, matched: sandbox[0] },
          };
        }
        const network = networkRe?.exec(obs);
        if (network) {
          return {
            reason: 'infra-network',
            message: `a network or rate-limit error ended the run, at step ${step.index} (${quote(network[0])})`,
            details: { step: step.index, matched: network[0] },
          };
        }
      }
      return null;
    },
  };
}

import type { MalformedConfig } from '../../../schemas/config/filter.js';
import type { PipelineRecord } from '../../../schemas/index.js';
import { quote, type FilterRule } from './rule.js';

/** Tool names offered to the model, from OpenAI-style specs ({type, function: {name}}) or bare {name}. */
export function offeredTools(record: PipelineRecord): Set<string> {
  const names = new Set<string>();
  for (const spec of record.tools ?? []) {
    const fn = spec.function as { name?: unknown } | undefined;
    const name = fn?.name ?? spec.name;
    if (typeof name === 'string') names.add(name);
  }
  return names;
}

export function malformedRule(cfg: MalformedConfig): FilterRule {
  return {
    name: 'malformed',
    applyTo: cfg.apply_to,
    check(record) {
      if (record.task.trim() === '') return { reason: 'malformed-empty-task', message: 'its task statement is empty' };
      if (record.steps.length === 0) return { reason: 'malformed-no-assistant-step', message: 'it has no assistant step' };
      const offered = offeredTools(record);
      // Without a tool list there is nothing to compare against; only configured names are then trusted blindly.
      const checkNames = offered.size > 0;
      for (const name of cfg.known_tools) offered.add(name);
      for (const step of record.steps) {
        for (const action of step.actions) {
          if (action.kind !== 'tool_call') continue;
          const args = action.arguments;
          if (args !== null && args.trim() !== '') {
            try {
              JSON.parse(args);
            } catch {
              return {
                reason: 'malformed-tool-arguments',
                message: `step ${step.index} calls ${action.name ?? 'a tool'} with arguments that are not JSON: ${quote(args)}`,
                details: { step: step.index, tool: action.name },
              };
            }
          }
          if (checkNames && action.name !== null && !offered.has(action.name)) {
            return {
              reason: 'malformed-unknown-tool',
              message: `step ${step.index} calls tool "${action.name}", which the run does not offer (${[...offered].sort().join(', ')})`,
              details: { step: step.index, tool: action.name },
            };
          }
        }
      }
      return null;
    },
  };
}

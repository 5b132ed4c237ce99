import type { MalformedConfig } from '../../../schemas/config/filter.js';
import type { PipelineRecord } from '../../../schemas/index.js';
import { quote, type FilterRule, type Verdict } from './rule.js';

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

/**
 * A tool result that answers no earlier call: the harness lost the call (or the reader dropped it), and a
 * row trained on it teaches a conversation that never happened.
 */
function orphanToolResult(record: PipelineRecord): Verdict | null {
  const calls = new Set<string>();
  for (const [i, m] of record.messages.entries()) {
    if (m.role === 'assistant') for (const c of m.tool_calls ?? []) calls.add(c.id);
    if (m.role !== 'tool') continue;
    if (m.tool_call_id === undefined || !calls.has(m.tool_call_id)) {
      return {
        reason: 'malformed-orphan-tool-result',
        message: `message ${i} is a tool result ${m.tool_call_id === undefined ? 'with no tool_call_id' : `for call ${JSON.stringify(m.tool_call_id)}`}, which answers no earlier assistant tool call`,
        details: { message: i, tool_call_id: m.tool_call_id ?? null },
      };
    }
  }
  return null;
}

export function malformedRule(cfg: MalformedConfig): FilterRule {
  return {
    name: 'malformed',
    applyTo: cfg.apply_to,
    check(record) {
      if (record.task.trim() === '') return { reason: 'malformed-empty-task', message: 'its task statement is empty' };
      if (record.steps.length === 0) return { reason: 'malformed-no-assistant-step', message: 'it has no assistant step' };
      const orphan = orphanToolResult(record);
      if (orphan) return orphan;
      const offered = offeredTools(record);
      // A run that declares its tools must call only those. Without a tool list (text-action harnesses,
      // logs that never recorded it) there is nothing to compare against, so names are not checked.
      const checkNames = offered.size > 0;
      for (const name of cfg.known_tools) offered.add(name);
      for (const step of record.steps) {
        for (const action of step.actions) {
          // Tool calls, and submits made by calling a tool (finish, submit): both must be declared.
          const isCall = action.kind === 'tool_call' || (action.kind === 'submit' && action.arguments !== null);
          if (!isCall) continue;
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
              reason: 'malformed-undeclared-tool',
              message: `step ${step.index} calls tool "${action.name}", which the run does not declare (${[...offered].sort().join(', ')})`,
              details: { step: step.index, tool: action.name },
            };
          }
        }
      }
      return null;
    },
  };
}

// Tool definitions written into a system prompt as text, the way OpenHands describes tools to models
// called without native function calling (fn_call_converter `convert_tools_to_description`):
//
//   ---- BEGIN FUNCTION #1: execute_bash ----
//   Description: Execute a bash command in the terminal.
//   Parameters:
//     (1) command (string, required): The bash command to execute.
//     (2) is_input (string, optional): If True, ...
//   Allowed values: [`true`, `false`]
//   ---- END FUNCTION #1 ----
//
// Parsed back into OpenAI-style function specs. What the text does not say is not invented: an `array`
// parameter gets no `items`, and a parameter without a type line is a string (the converter's default).

export interface FunctionSpec {
  type: 'function';
  function: {
    name: string;
    description: string;
    parameters: { type: 'object'; properties: Record<string, Record<string, unknown>>; required: string[] };
  };
}

const BLOCK = /---- BEGIN FUNCTION #(\d+): ([\w.-]+) ----\n([\s\S]*?)\n?---- END FUNCTION #\1 ----/g;
const PARAM = /^ {2}\((\d+)\) ([\w.-]+) \(([\w ]+), (required|optional)\): ?/;
const NO_PARAMS = 'No parameters are required for this function.';

function parseParams(text: string): FunctionSpec['function']['parameters'] {
  const properties: Record<string, Record<string, unknown>> = {};
  const required: string[] = [];
  let current: { name: string; type: string; lines: string[] } | null = null;
  const close = (): void => {
    if (!current) return;
    let description = current.lines.join('\n');
    const prop: Record<string, unknown> = { type: current.type };
    const allowed = /\nAllowed values: \[(.*)\]$/.exec(description);
    if (allowed) {
      description = description.slice(0, allowed.index);
      prop.enum = [...allowed[1]!.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
    }
    prop.description = description;
    properties[current.name] = prop;
    current = null;
  };
  for (const line of text.split('\n')) {
    const m = PARAM.exec(line);
    if (m) {
      close();
      current = { name: m[2]!, type: m[3]!.trim(), lines: [line.slice(m[0].length)] };
      if (m[4] === 'required') required.push(m[2]!);
    } else if (current) {
      current.lines.push(line);
    }
  }
  close();
  for (const p of Object.values(properties)) p.description = String(p.description).replace(/\n+$/, '');
  return { type: 'object', properties, required };
}

/** Function specs described in a prompt's text, in order; [] when it describes none. */
export function functionsFromPrompt(prompt: string): FunctionSpec[] {
  const out: FunctionSpec[] = [];
  for (const m of prompt.matchAll(BLOCK)) {
    const body = m[3]!;
    const paramsAt = body.search(/^Parameters:$/m);
    const head = paramsAt >= 0 ? body.slice(0, paramsAt) : body.replace(NO_PARAMS, '');
    const description = head.replace(/^Description: ?/, '').replace(/\n+$/, '');
    const parameters = paramsAt >= 0 ? parseParams(body.slice(paramsAt + 'Parameters:'.length + 1)) : { type: 'object' as const, properties: {}, required: [] };
    out.push({ type: 'function', function: { name: m[2]!, description, parameters } });
  }
  return out;
}

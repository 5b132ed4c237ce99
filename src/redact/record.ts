import type { Trajectory } from '../../schemas/index.js';
import { trajectoryId } from '../core/ids.js';
import { scanText, type Finding, type ScanOptions } from './rules.js';

export interface RedactOptions extends ScanOptions {
  /** Texts that are never redacted: literals, or /regex/flags. */
  allow: readonly string[];
}

export interface Redacted<T> {
  value: T;
  /** Secrets replaced, per placeholder type. */
  counts: Record<string, number>;
}

export const placeholder = (type: string): string => `[REDACTED:${type}]`;

/** Separates the texts of one record when they are scanned as one: no rule matches across it. */
const SEP = '\n\u0000\u0000\n';

type Slot = { holder: Record<string, unknown> | unknown[]; key: string | number; text: string };

function compileAllow(allow: readonly string[]): (s: string) => boolean {
  const tests = allow.map((a) => {
    const re = /^\/(.+)\/([a-z]*)$/s.exec(a);
    if (re) {
      const rx = new RegExp(re[1]!, re[2]!.replace('g', ''));
      return (s: string) => rx.test(s);
    }
    return (s: string) => s === a;
  });
  return (s) => tests.some((t) => t(s));
}

/** Every string of a value (not keys), with where it sits; iterative, so depth cannot overflow the stack. */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (typeof v[i] === 'string') out.push({ holder: v, key: i, text: v[i] as string });
        else if (v[i] && typeof v[i] === 'object') stack.push(v[i]);
      }
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (typeof x === 'string') out.push({ holder: v as Record<string, unknown>, key: k, text: x });
        else if (x && typeof x === 'object') stack.push(x);
      }
    }
  }
  return out;
}

/** Replaces findings in a text, right to left so earlier offsets stay valid. */
function apply(text: string, findings: Finding[]): string {
  let out = text;
  for (let i = findings.length - 1; i >= 0; i--) {
    const f = findings[i]!;
    out = out.slice(0, f.start) + placeholder(f.type) + out.slice(f.end);
  }
  return out;
}

export class Redactor {
  private readonly allowed: (s: string) => boolean;
  constructor(private readonly opts: RedactOptions) {
    this.allowed = compileAllow(opts.allow);
  }

  /**
   * Finds the secrets of many texts in one scan (one secretlint call per record, not per message)
   * and returns, per text, the findings inside it.
   */
  async scanMany(texts: readonly string[]): Promise<Finding[][]> {
    const starts: number[] = [];
    let pos = 0;
    for (const t of texts) {
      starts.push(pos);
      pos += t.length + SEP.length;
    }
    const joined = texts.join(SEP);
    const found = (await scanText(joined, this.opts)).filter((f) => !this.allowed(joined.slice(f.start, f.end)));
    const per: Finding[][] = texts.map(() => []);
    let t = 0;
    for (const f of found) {
      while (t + 1 < texts.length && starts[t + 1]! <= f.start) t++;
      const base = starts[t]!;
      // A match never spans a separator (NUL is in no rule's alphabet), but clamp to be safe.
      per[t]!.push({ start: f.start - base, end: Math.min(f.end - base, texts[t]!.length), type: f.type });
    }
    return per;
  }

  async redactText(text: string): Promise<Redacted<string>> {
    const [findings] = await this.scanMany([text]);
    return { value: apply(text, findings!), counts: countTypes(findings!) };
  }

  /**
   * A trajectory with every secret in its text replaced by a typed placeholder: task, messages
   * (content, reasoning, tool-call arguments), tools, steps' actions, outcome and meta. Its id is
   * recomputed from the redacted conversation. The task id and where the run came from (source) are
   * left as they are.
   */
  async redactTrajectory(t: Trajectory): Promise<Redacted<Trajectory>> {
    const { id: _id, task_id, source, ...body } = t;
    const findings = await this.scanMany(slots(body).map((s) => s.text));
    if (findings.every((f) => f.length === 0)) return { value: t, counts: {} };
    // Copied only when something is replaced (most runs hold no secret); slots() visits the copy in
    // the same order as the original, so findings[i] belongs to the copy's i-th text.
    const copy = structuredClone(body) as Omit<Trajectory, 'id' | 'task_id' | 'source'>;
    const counts: Record<string, number> = {};
    slots(copy).forEach((s, i) => {
      const f = findings[i]!;
      if (!f.length) return;
      (s.holder as Record<string | number, unknown>)[s.key] = apply(s.text, f);
      for (const x of f) counts[x.type] = (counts[x.type] ?? 0) + 1;
    });
    const sorted = Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
    const value: Trajectory = {
      ...copy,
      id: trajectoryId(task_id, source.harness, copy.messages),
      task_id,
      source,
      meta: { ...copy.meta, redacted: sorted },
    } as Trajectory;
    return { value, counts: sorted };
  }
}

function countTypes(findings: Finding[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const f of findings) c[f.type] = (c[f.type] ?? 0) + 1;
  return c;
}

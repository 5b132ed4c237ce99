import type { Trajectory } from '../../schemas/index.js';
import { trajectoryId } from '../core/ids.js';
import { genericFindings } from './generic.js';
import { combineFindings, findingsOfMessages, lintMessages, scanText, type Finding, type LintMessage, type ScanOptions } from './rules.js';
import { triggerTest, type TriggerTest } from './triggers.js';

export interface RedactOptions extends ScanOptions {
  /** Texts that are never redacted: literals, or /regex/flags. */
  allow: readonly string[];
  /**
   * Scan only the texts in which a trigger matches (src/redact/triggers.ts); the default. False scans
   * every text, as before the prefilter: the reference the tests hold the prefilter to.
   */
  prefilter?: boolean;
}

export interface Redacted<T> {
  value: T;
  /** Secrets replaced, per placeholder type. */
  counts: Record<string, number>;
}

export const placeholder = (type: string): string => `[REDACTED:${type}]`;

/** Separates the texts of one record when they are scanned as one: no rule matches across it. */
const SEP = '\n\u0000\u0000\n';

/** Texts shorter than this are tested for triggers together, joined: one regex call instead of one per text (most texts are short). */
const SHORT = 256;

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

/** The strings of slots(root), in the same order, without the bookkeeping (the common path: nothing to replace). */
function strings(root: unknown): string[] {
  const out: string[] = [];
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (typeof x === 'string') out.push(x);
        else if (x && typeof x === 'object') stack.push(x);
      }
    } else if (v && typeof v === 'object') {
      for (const x of Object.values(v as Record<string, unknown>)) {
        if (typeof x === 'string') out.push(x);
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
  private readonly triggers: TriggerTest | null;
  constructor(private readonly opts: RedactOptions) {
    this.allowed = compileAllow(opts.allow);
    this.triggers = opts.prefilter === false ? null : triggerTest(opts);
  }

  /**
   * Finds the secrets of many texts in one scan (one secretlint call per record, not per message)
   * and returns, per text, the findings inside it.
   */
  async scanMany(texts: readonly string[]): Promise<Finding[][]> {
    return (await this.find(texts)) ?? texts.map(() => []);
  }

  /** Per text, the findings inside it; null when there is none (most records). */
  private async find(texts: readonly string[]): Promise<Finding[][] | null> {
    if (!this.triggers) {
      const joined = texts.join(SEP);
      const found = (await scanText(joined, this.opts)).filter((f) => !this.allowed(joined.slice(f.start, f.end)));
      return found.length ? this.split(texts, found) : null;
    }
    const { forSecretlint, forGeneric, rules } = this.triggered(texts);
    if (!forSecretlint.length && !forGeneric.length) return null;
    // The scanned texts are joined as the reference joins all of them, and every finding is moved to where the
    // reference would have it in the join of all texts. No rule's match crosses a separator, and a match does
    // not depend on the texts around it (the separator is NUL between newlines), so the reference finds the
    // same matches there; what depends on the whole record then runs on the whole record as in the reference:
    // the exact position of a reported value, every occurrence of a secret, merging, the allow list.
    const starts = offsets(texts);
    let full: string | undefined;
    const all = (): string => (full ??= texts.join(SEP));
    let specific: Finding[] = [];
    if (forSecretlint.length) {
      const sub = subset(texts, forSecretlint, starts);
      // secretlint drops a leading BOM of its content and reports ranges in what is left: a range is moved into
      // the subset's join, from there into the join of all, and back to what secretlint would report there.
      const bom = (s: string | undefined) => (s?.charCodeAt(0) === 0xfeff ? 1 : 0);
      const messages = await lintMessages(sub.joined, rules);
      if (messages.length) {
        const moved: LintMessage[] = messages.map((m) => {
          const d = bom(sub.joined) + sub.delta(m.range[0] + bom(sub.joined)) - bom(texts[0]);
          return { ...m, range: [m.range[0] + d, m.range[1] + d] as const };
        });
        specific = findingsOfMessages(all(), moved);
      }
    }
    let generic: Finding[] = [];
    if (forGeneric.length) {
      const sub = subset(texts, forGeneric, starts);
      generic = genericFindings(sub.joined, this.opts).map((f) => {
        const d = sub.delta(f.start);
        return { start: f.start + d, end: f.end + d, type: f.type };
      });
    }
    if (!specific.length && !generic.length) return null;
    const joined = all();
    const found = combineFindings(joined, specific, generic).filter((f) => !this.allowed(joined.slice(f.start, f.end)));
    return found.length ? this.split(texts, found) : null;
  }

  /**
   * Which texts can hold a match of secretlint's rules (and of which rules) and which of ours: those in which
   * the rules' triggers match. The others are not scanned.
   */
  private triggered(texts: readonly string[]): { forSecretlint: number[]; forGeneric: number[]; rules: Set<string> } {
    const { first, places, byAnchor, others } = this.triggers!;
    const forSecretlint: number[] = [];
    const forGeneric: number[] = [];
    const rules = new Set<string>();
    // Pass 2 for a text pass 1 matched in (m, its first match): every trigger matches where pass 1 does (pass 1 is
    // wider), at its anchor; so the triggers anchored on each place pass 1 matches are checked there, exactly.
    const check = (i: number, t: string, m: RegExpExecArray | null): void => {
      let preset = false;
      let ours = false;
      for (; m !== null; m = places.exec(t)) {
        const at = m.index;
        const c = t.charCodeAt(at);
        for (const x of c < 128 ? byAnchor[c]! : others) {
          if (x.rule ? preset && rules.has(x.rule) : ours) continue;
          x.at.lastIndex = at;
          if (!x.at.test(t)) continue;
          if (x.rule) {
            preset = true;
            rules.add(x.rule);
          } else ours = true;
        }
        places.lastIndex = at + 1;
      }
      if (preset) forSecretlint.push(i);
      if (ours) forGeneric.push(i);
    };
    const shortTexts: string[] = [];
    // A long text repeated in the run (tool-call arguments repeat in steps, files are shown twice) is scanned once:
    // texts of the same length are compared with each other (a memcmp), the repeat takes the first one's answer.
    const byLength = new Map<number, number>();
    let repeats: number[] | undefined;
    for (let i = 0; i < texts.length; i++) {
      const t = texts[i]!;
      if (t.length < SHORT) {
        shortTexts.push(t);
        continue;
      }
      const j = byLength.get(t.length);
      if (j !== undefined && texts[j] === t) {
        (repeats ??= []).push(i, j);
        continue;
      }
      byLength.set(t.length, i);
      places.lastIndex = 0;
      const m = places.exec(t);
      if (m) check(i, t, m);
    }
    let unsorted = false;
    if (repeats) {
      for (let k = 0; k < repeats.length; k += 2) {
        const [i, j] = [repeats[k]!, repeats[k + 1]!];
        if (forSecretlint.includes(j)) forSecretlint.push(i);
        if (forGeneric.includes(j)) forGeneric.push(i);
      }
      unsorted = true;
    }
    // A trigger inside one short text is one in their join too (a trigger needs nothing outside its match), so a
    // join without one clears them all; a join with one is looked at text by text.
    if (shortTexts.length && first.test(shortTexts.join(SEP))) {
      for (let i = 0; i < texts.length; i++) {
        const t = texts[i]!;
        if (t.length >= SHORT) continue;
        places.lastIndex = 0;
        const m = places.exec(t);
        if (m) check(i, t, m);
      }
      unsorted = true;
    }
    if (unsorted) {
      // The subsets are joined in the order of the texts, as the full scan joins them.
      forSecretlint.sort((a, b) => a - b);
      forGeneric.sort((a, b) => a - b);
    }
    return { forSecretlint, forGeneric, rules };
  }

  /** Findings in the join of all texts -> findings per text. */
  private split(texts: readonly string[], found: readonly Finding[]): Finding[][] {
    const starts = offsets(texts);
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
    const findings = (await this.find([text]))?.[0] ?? [];
    return { value: apply(text, findings), counts: countTypes(findings) };
  }

  /**
   * A trajectory with every secret in its text replaced by a typed placeholder: task, messages
   * (content, reasoning, tool-call arguments), tools, steps' actions, outcome and meta. Its id is
   * recomputed from the redacted conversation. The task id and where the run came from (source) are
   * left as they are.
   */
  async redactTrajectory(t: Trajectory): Promise<Redacted<Trajectory>> {
    const { id: _id, task_id, source, ...body } = t;
    const findings = await this.find(strings(body));
    if (!findings) return { value: t, counts: {} };
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

/** Where each text starts in texts.join(SEP). */
function offsets(texts: readonly string[]): number[] {
  const starts: number[] = new Array(texts.length);
  let pos = 0;
  for (let i = 0; i < texts.length; i++) {
    starts[i] = pos;
    pos += texts[i]!.length + SEP.length;
  }
  return starts;
}

/** Some of the texts joined by SEP, and for a position in that join the shift to the same place in the join of all. */
function subset(texts: readonly string[], which: readonly number[], starts: readonly number[]) {
  const joined = which.map((i) => texts[i]!).join(SEP);
  const own: number[] = [];
  let pos = 0;
  for (const i of which) {
    own.push(pos);
    pos += texts[i]!.length + SEP.length;
  }
  const delta = (p: number): number => {
    let lo = 0;
    let hi = own.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (own[mid]! <= p) lo = mid;
      else hi = mid - 1;
    }
    return starts[which[lo]!]! - own[lo]!;
  };
  return { joined, delta };
}

function countTypes(findings: Finding[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const f of findings) c[f.type] = (c[f.type] ?? 0) + 1;
  return c;
}

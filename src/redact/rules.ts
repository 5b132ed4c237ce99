import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { lintSource } from '@secretlint/core';
import { rules as presetRules } from '@secretlint/secretlint-rule-preset-recommend';
import { genericFindings } from './generic.js';

/** One secret found in a text: [start, end) in UTF-16 units, and the placeholder type. */
export interface Finding {
  start: number;
  end: number;
  type: string;
}

const presetVersion = (createRequire(import.meta.url)('@secretlint/secretlint-rule-preset-recommend/package.json') as { version: string }).version;

/**
 * Names the rule set, so that a change of it (a new preset release, a change of the generic rules) is
 * part of ingest's fingerprint and reruns the pipeline from ingest.
 */
export const RULESET_VERSION = `secretlint-preset-recommend@${presetVersion}+trajpipe-generic-2`;

/** secretlint message ids -> the type in the placeholder ([REDACTED:<type>]). */
const TYPE_BY_MESSAGE: Record<string, string> = {
  AWSSecretAccessKey: 'aws-secret-key',
  AWSAccessKeyID: 'aws-access-key',
  GITHUB_TOKEN: 'github-token',
  OPENAI_TOKEN: 'openai-key',
  SLACK_TOKEN: 'slack-token',
  IncomingWebhook: 'slack-webhook',
  PrivateKey: 'private-key',
};

function typeOf(ruleId: string, messageId: string | undefined): string {
  if (messageId && TYPE_BY_MESSAGE[messageId]) return TYPE_BY_MESSAGE[messageId]!;
  const rule = ruleId.replace(/^@secretlint\/secretlint-rule-/, '');
  if (rule === 'database-connection-string') return 'database-url';
  if (rule === 'basicauth') return 'url-credentials';
  if (rule === 'privatekey') return 'private-key';
  return `${rule}-token`;
}

/** Not secrets: an account number identifies, it does not authenticate. */
const IGNORED_MESSAGES = new Set(['AWSAccountID']);

/**
 * The preset's own filter: an in-band `secretlint-disable` comment switches findings off. A trajectory is
 * untrusted text, so a run could switch off its own redaction; the rule is left out (generic-2).
 */
export const FILTER_COMMENTS_RULE = '@secretlint/secretlint-rule-filter-comments';
const AWS_RULE = '@secretlint/secretlint-rule-aws';

/** The preset's rules (its exported list, in its order) without the comment filter. */
export const SECRETLINT_RULES = presetRules.filter((r) => r.meta.id !== FILTER_COMMENTS_RULE);

const configOf = (rules: typeof SECRETLINT_RULES) => ({
  rules: rules.map((rule) => ({
    id: rule.meta.id,
    rule,
    // The access-key-id scan comes with the account-id scan, whose messages are dropped (IGNORED_MESSAGES).
    ...(rule.meta.id === AWS_RULE ? { options: { enableIDScanRule: true } } : {}),
  })),
});
const SECRETLINT_CONFIG = configOf(SECRETLINT_RULES);
/**
 * Configs of some of the rules, in the preset's order (the prefilter runs only the rules whose triggers
 * matched). The rules are independent of each other (no filter rule is left), so a rule reports the same
 * messages, in the same order, with or without the others.
 */
const partConfigs = new Map<string, ReturnType<typeof configOf>>();
function configFor(only: ReadonlySet<string> | undefined): ReturnType<typeof configOf> {
  if (!only) return SECRETLINT_CONFIG;
  const rules = SECRETLINT_RULES.filter((r) => only.has(r.meta.id));
  const key = rules.map((r) => r.meta.id).join(' ');
  let c = partConfigs.get(key);
  if (!c) partConfigs.set(key, (c = configOf(rules)));
  return c;
}

/**
 * secretlint reports some ranges off by the length of the key name (the AWS secret rule starts its
 * range at the assignment, not the value). Where the message carries the secret itself, its exact
 * position near the reported range wins.
 */
function exactRange(text: string, range: readonly [number, number], data: unknown): [number, number] {
  const values = data && typeof data === 'object' ? Object.values(data as Record<string, unknown>).filter((v): v is string => typeof v === 'string' && v.length >= 8) : [];
  for (const v of values.sort((a, b) => b.length - a.length)) {
    const from = Math.max(0, range[0] - v.length - 256);
    const at = text.indexOf(v, from);
    if (at !== -1 && at <= range[1] + 256) return [at, at + v.length];
  }
  return [range[0], range[1]];
}

/** In a URL with credentials only the password is the secret: scheme, user and host stay readable. */
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:([^\s@]+)@/i;

/** A private key block keeps its BEGIN and END lines, so the reader still sees what was printed. */
const PEM_BODY = /^(-----BEGIN[^\n]*?-----(?:\r?\n|\\n)?)[\s\S]*?((?:\r?\n|\\n)?-----END[^\n]*?-----)$/;

function narrow(text: string, f: Finding): Finding {
  if (f.type === 'private-key') {
    const m = PEM_BODY.exec(text.slice(f.start, f.end));
    return m ? { start: f.start + m[1]!.length, end: f.end - m[2]!.length, type: f.type } : f;
  }
  if (f.type !== 'url-credentials' && f.type !== 'database-url') return f;
  const m = URL_PASSWORD.exec(text.slice(f.start, f.end));
  if (!m) return f;
  const end = f.start + m[0].length - 1;
  return { start: end - m[1]!.length, end, type: f.type };
}

/** user:pass@example.com in a URL validator's tests is an example, not a credential. */
function isPlaceholderPassword(p: string): boolean {
  return p.length < 6 || /^(?:pass(?:word)?|passwd|pwd|secret|changeme|example|test|dummy|foo|bar|x+|\*+)$/i.test(p);
}

/** One secretlint message, its range as secretlint reports it (relative to the content without a leading BOM). */
export interface LintMessage {
  range: readonly [number, number];
  ruleId: string;
  messageId: string | undefined;
  data: unknown;
}

/**
 * secretlint's profiler records every mark of every lintSource call (~60 a call) in a list it searches on
 * each one, and Node's performance timeline keeps them too: the time grows with the square of the calls
 * in a process and the memory without bound (a test making thousands of calls hung). Nothing here reads
 * the profile, so the mark() of the instance @secretlint/core uses is made a no-op.
 */
let profilerSilenced: Promise<void> | undefined;
function silenceProfiler(): Promise<void> {
  profilerSilenced ??= (async () => {
    const core = createRequire(import.meta.url).resolve('@secretlint/core');
    const url = pathToFileURL(createRequire(core).resolve('@secretlint/profiler')).href;
    const { secretLintProfiler } = (await import(url)) as { secretLintProfiler: { mark: (marker: unknown) => void } };
    secretLintProfiler.mark = () => {};
  })();
  return profilerSilenced;
}

/** secretlint's messages for a content (from all the rules, or only some), the ignored ones dropped. */
export async function lintMessages(content: string, only?: ReadonlySet<string>): Promise<LintMessage[]> {
  await silenceProfiler();
  const result = await lintSource({
    source: { content, filePath: '/trajectory.txt', ext: '.txt', contentType: 'text' },
    options: { config: configFor(only) as never },
  });
  const out: LintMessage[] = [];
  for (const m of result.messages) {
    if (m.messageId && IGNORED_MESSAGES.has(m.messageId)) continue;
    out.push({ range: m.range as [number, number], ruleId: m.ruleId, messageId: m.messageId, data: (m as { data?: unknown }).data });
  }
  return out;
}

/** Findings of secretlint's messages in the text they were reported for: exact ranges, narrowed, placeholders dropped. */
export function findingsOfMessages(text: string, messages: readonly LintMessage[]): Finding[] {
  const out: Finding[] = [];
  for (const m of messages) {
    const [start, end] = exactRange(text, m.range, m.data);
    if (end <= start) continue;
    const f = narrow(text, { start, end, type: typeOf(m.ruleId, m.messageId) });
    if ((f.type === 'url-credentials' || f.type === 'database-url') && isPlaceholderPassword(text.slice(f.start, f.end))) continue;
    out.push(f);
  }
  return out;
}

async function secretlintFindings(text: string): Promise<Finding[]> {
  return findingsOfMessages(text, await lintMessages(text));
}

export interface ScanOptions {
  emails: boolean;
}

/**
 * A secret found once is a secret wherever it appears again (secretlint reports each distinct value
 * once, and a key echoed bare later matches no rule's context): every occurrence gets a finding.
 */
function everyOccurrence(text: string, found: Finding[]): Finding[] {
  const out = [...found];
  const seen = new Set<string>();
  for (const f of found) {
    const secret = text.slice(f.start, f.end);
    if (secret.length < 8 || seen.has(secret)) continue;
    seen.add(secret);
    for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + secret.length)) {
      if (at !== f.start) out.push({ start: at, end: at + secret.length, type: f.type });
    }
  }
  return out;
}

/**
 * Every secret in a text from the findings of the maintained rules (specific) and of ours (generic), in
 * the order the scans report them: every occurrence of each, overlapping findings merged (the span
 * covers both; the type of the one that starts first wins, and on a tie the maintained rule's, which is
 * more specific than a generic one), sorted by position.
 */
export function combineFindings(text: string, specific: readonly Finding[], generic: readonly Finding[]): Finding[] {
  // A token's own rule names it better than the URL it sits in, and any maintained rule better than a generic one.
  const specificRank = (f: Finding) => (f.type === 'url-credentials' || f.type === 'database-url' ? 1 : 0);
  const rank = (f: Finding) => (f.type === 'generic-secret' || f.type === 'email' ? 2 : specificRank(f));
  const all = everyOccurrence(text, [...specific, ...generic]).sort((a, b) => a.start - b.start || rank(a) - rank(b) || b.end - a.end);
  const merged: Finding[] = [];
  for (const f of all) {
    const last = merged[merged.length - 1];
    if (last && f.start < last.end) last.end = Math.max(last.end, f.end);
    else merged.push({ ...f });
  }
  return merged;
}

/** Every secret in a text: secretlint's rules and ours over all of it (the reference the prefilter must equal). */
export async function scanText(text: string, opts: ScanOptions): Promise<Finding[]> {
  return combineFindings(text, await secretlintFindings(text), genericFindings(text, opts));
}

import { createRequire } from 'node:module';
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
export const RULESET_VERSION = `secretlint-preset-recommend@${presetVersion}+trajpipe-generic-1`;

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
 * secretlint and its rules, imported on first use rather than at start-up (~40 ms of CPU): a process or
 * worker thread that redacts nothing (a rerun from a later stage, the main thread while workers ingest,
 * every command but run) never loads them (docs/design.md, "Start-up").
 */
let secretlint: Promise<{ lintSource: typeof import('@secretlint/core').lintSource; config: unknown }> | null = null;
function loadSecretlint(): NonNullable<typeof secretlint> {
  return (secretlint ??= Promise.all([import('@secretlint/core'), import('@secretlint/secretlint-rule-preset-recommend')]).then(([core, preset]) => ({
    lintSource: core.lintSource,
    config: {
      rules: [
        {
          id: '@secretlint/secretlint-rule-preset-recommend',
          rule: preset.creator,
          rules: [{ id: '@secretlint/secretlint-rule-aws', options: { enableIDScanRule: true } }],
        },
      ],
    },
  })));
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

async function secretlintFindings(text: string): Promise<Finding[]> {
  const { lintSource, config } = await loadSecretlint();
  const result = await lintSource({
    source: { content: text, filePath: '/trajectory.txt', ext: '.txt', contentType: 'text' },
    options: { config: config as never },
  });
  const out: Finding[] = [];
  for (const m of result.messages) {
    if (m.messageId && IGNORED_MESSAGES.has(m.messageId)) continue;
    const [start, end] = exactRange(text, m.range as [number, number], (m as { data?: unknown }).data);
    if (end <= start) continue;
    const f = narrow(text, { start, end, type: typeOf(m.ruleId, m.messageId) });
    if ((f.type === 'url-credentials' || f.type === 'database-url') && isPlaceholderPassword(text.slice(f.start, f.end))) continue;
    out.push(f);
  }
  return out;
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
 * Every secret in a text, overlapping findings merged (the span covers both; the type of the one that
 * starts first wins, and on a tie the maintained rule's, which is more specific than a generic one),
 * sorted by position.
 */
export async function scanText(text: string, opts: ScanOptions): Promise<Finding[]> {
  const specific = await secretlintFindings(text);
  const generic = genericFindings(text, opts);
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

// Triggers: a cheap necessary condition for every redaction rule. A text in which no trigger matches
// cannot hold a match of any rule, so it is never handed to secretlint or to our generic rules. Almost no
// text holds a secret, and the rules (secretlint's ~40 regexes and its per-call machinery, ours) cost
// 10-30x more per character than this test.
//
// A trigger stands for the regex  behind · at · ahead  (plain()). It is derived from its rule's own regex
// (@secretlint/secretlint-rule-preset-recommend 12.0.0, module/index.js; src/redact/generic.ts) so that every
// match of the rule contains a match of the trigger: a piece of the rule's pattern (its literal prefix, the
// connector of an assignment, `://user:pass@`) with character classes equal to or wider than the rule's and
// quantifiers no stricter. Case-insensitive rules get case-insensitive triggers (the rules' /i has no /u
// flag, so it folds ASCII letters only, as anyCase() does). Where a literal alone would fire on ordinary text
// (`token`, `://`), the trigger keeps the rule's structural part: the name *followed by* its connector and a
// value, `://user:pass@`.
//
// Two passes:
//  1. over every text, one regex with one alternative per anchor `at`, wider than the triggers: what follows
//     the anchor is matched forward, what precedes it by a look-behind shared by the anchor's triggers (a
//     shorter suffix where `wide` says so), the look-ahead checked first where `guard` says so. V8 has no
//     multi-pattern search: an alternation of the plain triggers costs 5-6 ns per character; this form ~0.9
//     on prose and ~2 on code, where an anchor character (_ . : = -) comes every ~18 characters.
//  2. where pass 1 matched (its matches start at their anchor), the triggers anchored there, checked exactly
//     at that place. secretlint then runs only the rules whose triggers matched, our rules only when theirs did.

export type Group = 'secretlint' | 'generic';

export interface Trigger {
  /** The rule it serves: a preset rule (without @secretlint/secretlint-rule-) / message id, or ours (generic/...). */
  rule: string;
  group: Group;
  /** What must come right before the anchor (a regex). */
  behind?: string;
  /** The anchor: one character, or a small class. */
  at: string;
  /** What must follow the anchor (a regex). */
  ahead?: string;
  /** Pass 1 looks behind for this instead: a suffix every match of `behind` ends with (a shorter look-behind is cheaper). */
  wide?: string;
  /** Pass 1 checks `ahead` too, as a look-ahead before the look-behind (where the anchor is frequent and most fail ahead). */
  guard?: boolean;
}

/** [Ss][Ee]... for a case-insensitive literal (ASCII letters only; other characters as given). */
export const anyCase = (s: string): string => s.replace(/[A-Za-z]/g, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`);

/**
 * The generic assignment rule's names (ASSIGNMENT in generic.ts, /i): SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|
 * API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|AUTH_?KEY|CREDENTIALS?, factored by shared parts (the same names; in a
 * look-behind, which runs backwards, the factored form tries fewer alternatives at each place).
 */
const SECRET_NAMES = `(?:${anyCase('SECRET')}|${anyCase('TOKEN')}|${anyCase('PASS')}(?:${anyCase('W')}(?:${anyCase('OR')})?${anyCase('D')}|${anyCase('PHRASE')})|(?:${anyCase('API')}|${anyCase('ACCESS')}|${anyCase('PRIVATE')}|${anyCase('AUTH')})_?${anyCase('KEY')}|${anyCase('CREDENTIAL')}${anyCase('S')}?)`;
/** The generic assignment rule's value characters. */
const VALUE = `[^\\s"'\`,;&|<>()[\\]{}\\\\]`;

/** What precedes and follows the connector of a generic assignment (the lazy `*?` finds the same matches, sooner). */
const ASSIGNED = `${SECRET_NAMES}[A-Za-z0-9_.-]*?["']?[ \\t]*:?`;
const ASSIGNMENT_VALUE = `[ \\t]*["']?${VALUE}{8}`;

/** Credentials in a URL: `://user:pass@`, the widest of basicauth's, the database rules' and ours. */
const URL_USER_PASS = { at: ':', ahead: '\\/\\/[^\\s:/]{1,256}:[^\\s/@]{1,256}@' };

export const TRIGGERS: readonly Trigger[] = [
  // aws / AWSAccessKeyID: \b(A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}\b
  { rule: 'aws/AWSAccessKeyID', group: 'secretlint', at: 'A', ahead: '(?:3T[A-Z0-9]|KIA|GPA|IDA|ROA|IPA|NPA|NVA|SIA)[A-Z0-9]{16}' },
  // aws / AWSSecretAccessKey: ["']?(AWS)?_?(SECRET|secret|Secret)_?(ACCESS|..)_?(KEY|..)["']?\s*(:|=>|=)\s*["']?[A-Za-z0-9/+=]{40}: anchored on the
  // first character of the connector (`=>` starts with `=`).
  { rule: 'aws/AWSSecretAccessKey', group: 'secretlint', behind: `(?:SECRET|secret|Secret)_?(?:ACCESS|access|Access)_?(?:KEY|key|Key)["']?\\s*`, at: '[:=]', ahead: `>?\\s*["']?[A-Za-z0-9/+=]{40}` },
  // npm / NPM_ACCESS_TOKEN: npm_[A-Za-z0-9_]{36}. (Its package.json and .npmrc scans never run: the source is /trajectory.txt.)
  { rule: 'npm/NPM_ACCESS_TOKEN', group: 'secretlint', behind: 'npm', at: '_', ahead: '[A-Za-z0-9_]{36}' },
  // slack / SLACK_TOKEN: \b(xoxb|xoxp|xapp|xoxa|xoxo|xoxr)-(\d-)?([a-zA-Z0-9]{1,40}-)+[a-zA-Z0-9]{1,40}\b
  { rule: 'slack/SLACK_TOKEN', group: 'secretlint', behind: 'xox[bpaor]|xapp', at: '-', ahead: '[a-zA-Z0-9]{1,40}-[a-zA-Z0-9]' },
  // slack / IncomingWebhook, /i: https:\/\/hooks\.slack\.com\/services\/T...
  { rule: 'slack/IncomingWebhook', group: 'secretlint', behind: anyCase('hooks'), wide: anyCase('oks'), at: '\\.', ahead: `${anyCase('slack')}\\.${anyCase('com')}\\/${anyCase('services')}\\/` },
  // basicauth / BasicAuth: (https?|ftp|ftps):\/\/[-a-zA-Z0-9_]{1,256}:[-a-zA-Z0-9_]{1,256}@...
  { rule: 'basicauth/BasicAuth', group: 'secretlint', ...URL_USER_PASS },
  // database-connection-string / MongoDB, MySQL, PostgreSQL: scheme:\/\/(user:pass@)?host...; reported only with user and
  // password ([^:\/\s]{1,100}:[^@\/\s]{1,200}@), so a reported match holds `://user:pass@`.
  { rule: 'database-connection-string/*', group: 'secretlint', ...URL_USER_PASS },
  // openai / OPENAI_TOKEN: sk-(proj|svcacct|admin)-...T3BlbkFJ... | sk-[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20}: both hold T3BlbkFJ.
  { rule: 'openai/OPENAI_TOKEN', group: 'secretlint', at: 'T', ahead: '3BlbkFJ[A-Za-z0-9_-]{20}' },
  // anthropic / ANTHROPIC_API_KEY: sk-ant-api0\d-[A-Za-z0-9_-]{90,128}AA
  { rule: 'anthropic/ANTHROPIC_API_KEY', group: 'secretlint', behind: 'sk', at: '-', ahead: 'ant-api0\\d-[A-Za-z0-9_-]{90}' },
  // groq / GROQ_API_KEY: gsk_[a-zA-Z0-9]{52}
  { rule: 'groq/GROQ_API_KEY', group: 'secretlint', behind: 'gsk', at: '_', ahead: '[a-zA-Z0-9]{52}' },
  // huggingface / HUGGINGFACE_USER_ACCESS_TOKEN: hf_[a-zA-Z]{34}
  { rule: 'huggingface/HUGGINGFACE_USER_ACCESS_TOKEN', group: 'secretlint', behind: 'hf', at: '_', ahead: '[a-zA-Z]{34}' },
  // linear / LINEAR_API_TOKEN: lin_api_[a-zA-Z0-9_]{32,128}
  { rule: 'linear/LINEAR_API_TOKEN', group: 'secretlint', behind: 'lin', at: '_', ahead: 'api_[a-zA-Z0-9_]{32}' },
  // notion / NOTION_INTEGRATION_TOKEN: ntn_[0-9]{11}[A-Za-z0-9]{35}
  { rule: 'notion/NOTION_INTEGRATION_TOKEN', group: 'secretlint', behind: 'ntn', at: '_', ahead: '[0-9]{11}[A-Za-z0-9]{35}' },
  // privatekey / PrivateKey: -----BEGIN[ ]?((RSA|DSA|EC|OPENSSH|PGP) )?PRIVATE KEY( BLOCK)?-----...
  { rule: 'privatekey/PrivateKey', group: 'secretlint', at: '-', ahead: '----BEGIN[ ]?(?:(?:RSA|DSA|EC|OPENSSH|PGP) )?PRIVATE KEY' },
  // sendgrid / SENDGRID_KEY: SG\.\w{1,128}\.\w{1,128}([-_]?)\w{1,128}
  { rule: 'sendgrid/SENDGRID_KEY', group: 'secretlint', behind: 'SG', at: '\\.', ahead: '\\w{1,128}\\.' },
  // shopify / SHOPIFY_KEY: (shppa|shpca|shpat|shpss)_[a-zA-Z0-9]{32,64}
  { rule: 'shopify/SHOPIFY_KEY', group: 'secretlint', behind: 'shp(?:pa|ca|at|ss)', wide: 'p(?:pa|ca|at|ss)', at: '_', ahead: '[a-zA-Z0-9]{32}' },
  // github / GITHUB_TOKEN: (ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36} and github_pat_[A-Za-z0-9_]{82}
  { rule: 'github/GITHUB_TOKEN', group: 'secretlint', behind: 'gh[pousr]', at: '_', ahead: '[A-Za-z0-9_]{36}' },
  { rule: 'github/GITHUB_TOKEN', group: 'secretlint', behind: 'github', wide: 'hub', at: '_', ahead: 'pat_[A-Za-z0-9_]{82}' },
  // gitlab / GITLAB_PERSONAL_ACCESS_TOKEN: glpat-[A-Za-z0-9_-]{20,128}
  { rule: 'gitlab/GITLAB_PERSONAL_ACCESS_TOKEN', group: 'secretlint', behind: 'glpat', at: '-', ahead: '[A-Za-z0-9_-]{20}' },
  // grafana / GRAFANA_CLOUD_API_TOKEN: glc_[A-Za-z0-9+/]{32,400}; GRAFANA_SERVICE_ACCOUNT_TOKEN: glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}
  { rule: 'grafana/GRAFANA_CLOUD_API_TOKEN', group: 'secretlint', behind: 'glc', at: '_', ahead: '[A-Za-z0-9+/]{32}' },
  { rule: 'grafana/GRAFANA_SERVICE_ACCOUNT_TOKEN', group: 'secretlint', behind: 'glsa', wide: 'lsa', at: '_', ahead: '[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}' },
  // 1password / OPS_TOKEN: ops_(ey[A-Za-z0-9+/=]{100,1280}fQ={0,2})
  { rule: '1password/OPS_TOKEN', group: 'secretlint', behind: 'ops', at: '_', ahead: 'ey[A-Za-z0-9+/=]{100}' },
  // hashicorp-vault / service, batch, recovery: hv[sbr]\.[A-Za-z0-9_-]{90,...}
  { rule: 'hashicorp-vault/*', group: 'secretlint', behind: 'hv[sbr]', at: '\\.', ahead: '[A-Za-z0-9_-]{90}' },
  // vercel / *: (vcp|vci|vca|vcr|vck)_[A-Za-z0-9]{20,60}
  { rule: 'vercel/*', group: 'secretlint', behind: 'vc[pciark]', at: '_', ahead: '[A-Za-z0-9]{20}' },
  // databricks / DATABRICKS_PERSONAL_ACCESS_TOKEN: dapi[A-Fa-f0-9]{32}
  { rule: 'databricks/DATABRICKS_PERSONAL_ACCESS_TOKEN', group: 'secretlint', at: 'd', ahead: 'api[A-Fa-f0-9]{32}' },
  // docker / DOCKER_PERSONAL_ACCESS_TOKEN: dckr_pat_[a-zA-Z0-9_-]{27}
  { rule: 'docker/DOCKER_PERSONAL_ACCESS_TOKEN', group: 'secretlint', behind: 'dckr', wide: 'ckr', at: '_', ahead: 'pat_[a-zA-Z0-9_-]{27}' },
  // figma / FIGMA_PERSONAL_ACCESS_TOKEN: figd_[A-Za-z0-9_-]{40,200}
  { rule: 'figma/FIGMA_PERSONAL_ACCESS_TOKEN', group: 'secretlint', behind: 'figd', wide: 'igd', at: '_', ahead: '[A-Za-z0-9_-]{40}' },

  // generic / assignment, /i: NAME[A-Za-z0-9_.-]*(["']?[ \t]*(=|:=|:)[ \t]*)(["']?)(VALUE{8,256}): anchored on the last character of
  // the connector (`:?` takes the `:` of `:=`), and the value's first 8 characters follow it.
  { rule: 'generic/assignment', group: 'generic', behind: ASSIGNED, guard: true, at: '[:=]', ahead: ASSIGNMENT_VALUE },
  // generic / url-credentials: :\/\/([^\s:/?#@"'<>]{1,128}):([^\s/?#@"'<>]{1,256})@(?=[A-Za-z0-9[])
  { rule: 'generic/url-credentials', group: 'generic', ...URL_USER_PASS },
];

/** generic / email (only when e-mails are redacted): @[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24} */
export const EMAIL_TRIGGER: Trigger = { rule: 'generic/email', group: 'generic', at: '@', ahead: '[A-Za-z0-9-]{1,63}\\.' };

/**
 * How each rule of the preset is covered: by the triggers above (the message ids they serve), or why it
 * needs none. test/redact/prefilter.test.ts fails when the preset has a rule or message not listed here.
 */
export const PRESET_COVERAGE: Record<string, { messages: Record<string, string> }> = {
  '@secretlint/secretlint-rule-aws': { messages: { AWSAccessKeyID: 'trigger', AWSSecretAccessKey: 'trigger', AWSAccountID: 'none: its messages are dropped (IGNORED_MESSAGES)' } },
  '@secretlint/secretlint-rule-gcp': {
    messages: {
      // It only looks at .p12 files (reads the file from disk) and .json sources (JSON.parses the whole content); our
      // source is /trajectory.txt, and the texts joined by a separator are not one JSON document either.
      PrivateKeyP12: 'none: never runs for a .txt source',
      PrivateKeyJSON: 'none: never runs for a .txt source',
    },
  },
  '@secretlint/secretlint-rule-npm': {
    messages: { NPM_ACCESS_TOKEN: 'trigger', PackageJSON_xOauthToken: 'none: only for package.json sources', Npmrc_authToken: 'none: only for .npmrc sources' },
  },
  '@secretlint/secretlint-rule-slack': { messages: { SLACK_TOKEN: 'trigger', IncomingWebhook: 'trigger' } },
  '@secretlint/secretlint-rule-basicauth': { messages: { BasicAuth: 'trigger' } },
  '@secretlint/secretlint-rule-openai': { messages: { OPENAI_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-anthropic': { messages: { ANTHROPIC_API_KEY: 'trigger' } },
  '@secretlint/secretlint-rule-groq': { messages: { GROQ_API_KEY: 'trigger' } },
  '@secretlint/secretlint-rule-huggingface': { messages: { HUGGINGFACE_USER_ACCESS_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-linear': { messages: { LINEAR_API_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-notion': { messages: { NOTION_INTEGRATION_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-privatekey': { messages: { PrivateKey: 'trigger' } },
  '@secretlint/secretlint-rule-sendgrid': { messages: { SENDGRID_KEY: 'trigger' } },
  '@secretlint/secretlint-rule-shopify': { messages: { SHOPIFY_KEY: 'trigger' } },
  '@secretlint/secretlint-rule-github': { messages: { GITHUB_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-gitlab': { messages: { GITLAB_PERSONAL_ACCESS_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-grafana': { messages: { GRAFANA_CLOUD_API_TOKEN: 'trigger', GRAFANA_SERVICE_ACCOUNT_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-1password': { messages: { OPS_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-database-connection-string': { messages: { MongoDBConnection: 'trigger', MySQLConnection: 'trigger', PostgreSQLConnection: 'trigger' } },
  '@secretlint/secretlint-rule-hashicorp-vault': {
    messages: { HASHICORP_VAULT_SERVICE_TOKEN: 'trigger', HASHICORP_VAULT_BATCH_TOKEN: 'trigger', HASHICORP_VAULT_RECOVERY_TOKEN: 'trigger' },
  },
  '@secretlint/secretlint-rule-vercel': {
    messages: {
      VERCEL_PERSONAL_ACCESS_TOKEN: 'trigger',
      VERCEL_INTEGRATION_TOKEN: 'trigger',
      VERCEL_APP_ACCESS_TOKEN: 'trigger',
      VERCEL_APP_REFRESH_TOKEN: 'trigger',
      VERCEL_AI_GATEWAY_API_KEY: 'trigger',
    },
  },
  '@secretlint/secretlint-rule-databricks': { messages: { DATABRICKS_PERSONAL_ACCESS_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-docker': { messages: { DOCKER_PERSONAL_ACCESS_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-figma': { messages: { FIGMA_PERSONAL_ACCESS_TOKEN: 'trigger' } },
  '@secretlint/secretlint-rule-filter-comments': { messages: { IGNORE_MESSAGE: 'none: left out of the config (an in-band comment must not switch redaction off)' } },
};

/** The plain regex a trigger stands for. */
export const plain = (t: Trigger): string => `(?:${t.behind ?? ''})${t.at}(?:${t.ahead ?? ''})`;

/**
 * Pass 1's regex: one alternative per anchor; what follows the anchor is matched forward, what precedes it as
 * a look-behind (`wide` if given), shared by the anchor's triggers unless a look-ahead comes first (`guard`).
 */
export function anchored(triggers: readonly Trigger[]): string {
  const byAnchor = new Map<string, Trigger[]>();
  for (const t of triggers) byAnchor.set(t.at, [...(byAnchor.get(t.at) ?? []), t]);
  const alternatives: string[] = [];
  for (const [at, ts] of byAnchor) {
    const parts = new Set<string>();
    const shared = new Set<string>();
    for (const t of ts) {
      if (t.behind === undefined) parts.add(t.ahead ?? '');
      else if (t.guard) parts.add(`(?=${t.ahead ?? ''})(?<=(?:${t.wide ?? t.behind})${at})`);
      else shared.add(t.wide ?? t.behind);
    }
    if (shared.size) parts.add(`(?<=(?:${[...shared].join('|')})${at})`);
    alternatives.push(parts.has('') ? at : `${at}(?:${[...parts].join('|')})`);
  }
  return alternatives.join('|');
}

/** A trigger checked exactly at one place: its anchor there, its `behind` before and its `ahead` after. */
export interface PlacedTrigger {
  trigger: Trigger;
  /** The preset rule it serves ('' for ours). */
  rule: string;
  /** The plain regex with its `behind` as a look-behind, sticky: set lastIndex to the anchor's place. */
  at: RegExp;
}

export interface TriggerTest {
  /** Pass 1: false means no rule can match the text. */
  first: RegExp;
  /** Pass 1 again, global, to list the places it matches (its matches start at their anchor). */
  places: RegExp;
  /** Pass 2: per ASCII character, the triggers anchored on it, to check exactly where pass 1 matched. */
  byAnchor: readonly (readonly PlacedTrigger[])[];
  /** For any other character, all of them (each checks its own anchor; no anchor is a non-ASCII character today). */
  others: readonly PlacedTrigger[];
}

/** The preset rule id a trigger serves ('' for our generic rules). */
export const presetRule = (t: Trigger): string => (t.group === 'secretlint' ? `@secretlint/secretlint-rule-${t.rule.split('/')[0]}` : '');

export function triggerTest(opts: { emails: boolean }): TriggerTest {
  const all = [...TRIGGERS, ...(opts.emails ? [EMAIL_TRIGGER] : [])];
  const placed = all.map((t) => ({ trigger: t, rule: presetRule(t), at: new RegExp(`(?<=(?:${t.behind ?? ''}))(?:${t.at})(?:${t.ahead ?? ''})`, 'y') }));
  const byAnchor = Array.from({ length: 128 }, (_, c) => placed.filter((p) => new RegExp(`^(?:${p.trigger.at})$`).test(String.fromCharCode(c))));
  const source = anchored(all);
  return { first: new RegExp(source), places: new RegExp(source, 'g'), byAnchor, others: placed };
}

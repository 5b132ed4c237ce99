import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { rules as presetRules } from '@secretlint/secretlint-rule-preset-recommend';
import type { Trajectory } from '../../schemas/index.js';
import { FIELDS, plantedRun, plantedSecrets } from '../../bench/secrets.js';
import { Redactor, type RedactOptions } from '../../src/redact/record.js';
import { FILTER_COMMENTS_RULE, SECRETLINT_RULES } from '../../src/redact/rules.js';
import { EMAIL_TRIGGER, PRESET_COVERAGE, TRIGGERS, plain, presetRule, triggerTest, type Trigger } from '../../src/redact/triggers.js';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';
import { makeRun } from '../label/fixtures.js';

// The prefilter (src/redact/triggers.ts) must not change a single finding: every case below is scanned
// twice, with the prefilter and without it (the reference: every text through every rule, as before),
// and the findings per text (start, end, type) and the redacted runs must be identical.

const pairs = (opts: Omit<RedactOptions, 'prefilter'>) => ({ fast: new Redactor(opts), ref: new Redactor({ ...opts, prefilter: false }) });
const OPTIONS: Omit<RedactOptions, 'prefilter'>[] = [
  { emails: false, allow: [] },
  { emails: true, allow: [] },
];

async function sameFindings(texts: string[], opts: Omit<RedactOptions, 'prefilter'> = OPTIONS[0]!): Promise<number> {
  const { fast, ref } = pairs(opts);
  const [a, b] = [await fast.scanMany(texts), await ref.scanMany(texts)];
  expect(a).toEqual(b);
  return b.flat().length;
}

async function sameRun(run: Trajectory, r = pairs(OPTIONS[0]!)): Promise<Trajectory> {
  const [a, b] = [await r.fast.redactTrajectory(run), await r.ref.redactTrajectory(run)];
  expect(JSON.stringify(a.value)).toBe(JSON.stringify(b.value));
  expect(a.counts).toEqual(b.counts);
  return b.value;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = ALNUM + '+/';
const HEX = '0123456789abcdef';

/** One fake credential for every rule of the preset and ours, in the shapes their regexes take (bench/secrets.ts plants 15 of them). */
function everyRule(seed: number): string[] {
  const r = rng(seed);
  const pick = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
  // A 1Password service-account token is ops_ + base64 of a JSON object (ey...fQ==).
  let json = `{"email":"${pick(LOWER, 12)}@1passwordserviceaccounts.lcl","secretKey":"${pick(ALNUM, 40)}","srpX":"${pick(HEX, 64)}","n":"${pick(ALNUM, 20)}"}`;
  while (json.length % 3 !== 1) json = json.replace('"n":"', '"n":"x');
  const pem = (kind: string, body: string) => `-----BEGIN ${kind}PRIVATE KEY-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END ${kind}PRIVATE KEY-----`;
  return [
    `ASIA${pick(UPPER + DIGITS, 16)}`,
    `A3TX${pick(UPPER + DIGITS, 16)}`,
    `aws_secret_access_key = "${pick(B64, 40)}"`,
    `"AwsSecretAccessKey" => '${pick(B64, 40)}'`,
    `SECRET_ACCESS_KEY:\n  ${pick(B64, 40)}`,
    `npm_${pick(ALNUM + '_', 36)}`,
    `xapp-1-${pick(UPPER + DIGITS, 11)}-${pick(DIGITS, 13)}-${pick(HEX, 64)}`,
    `xoxp-${pick(DIGITS, 10)}-${pick(DIGITS, 10)}`,
    `https://hooks.slack.com/services/T${pick(UPPER + DIGITS, 8)}/B${pick(UPPER + DIGITS, 10)}/${pick(ALNUM, 24)}`,
    `HTTPS://HOOKS.SLACK.COM/SERVICES/T${pick(UPPER + DIGITS, 8)}/B${pick(UPPER + DIGITS, 10)}/${pick(ALNUM, 24)}`,
    `ftp://${pick(LOWER, 6)}:${pick(ALNUM + '-_', 14)}@files.${pick(LOWER, 5)}.org/x`,
    `sk-${pick(ALNUM, 20)}T3BlbkFJ${pick(ALNUM, 20)}`,
    `sk-svcacct-${pick(ALNUM + '_-', 58)}T3BlbkFJ${pick(ALNUM + '_-', 58)}`,
    `sk-ant-api04-${pick(ALNUM + '_-', 100)}AA`,
    `gsk_${pick(ALNUM, 52)}`,
    `hf_${pick(UPPER + LOWER, 34)}`,
    `lin_api_${pick(ALNUM + '_', 40)}`,
    `ntn_${pick(DIGITS, 11)}${pick(ALNUM, 35)}`,
    pem('OPENSSH ', `b3BlbnNzaC1rZXktdjE${pick(B64, 300)}`),
    pem('EC ', `MHcCAQEE${pick(B64, 160)}`),
    JSON.stringify({ key: pem('', `MIIEvQ${pick(B64, 400)}`) }).slice(8, -2),
    `SG.${pick(ALNUM + '_', 22)}.${pick(ALNUM + '_', 43)}`,
    `shpss_${pick(ALNUM, 32)}`,
    `shpca_${pick(ALNUM, 48)}`,
    `gho_${pick(ALNUM, 36)}`,
    `github_pat_${pick(ALNUM, 22)}_${pick(ALNUM, 59)}`,
    `glpat-${pick(ALNUM + '_-', 20)}`,
    `glc_${pick(B64, 60)}==`,
    `glsa_${pick(ALNUM, 32)}_${pick(HEX, 8)}`,
    `ops_${Buffer.from(json).toString('base64')}`,
    `mongodb+srv://${pick(LOWER, 6)}:${pick(ALNUM, 12)}@cluster0.${pick(LOWER, 5)}.mongodb.net/app?retryWrites=true`,
    `jdbc:mysql://${pick(LOWER, 5)}:${pick(ALNUM, 10)}!@db:3306/shop`,
    `postgresql://${pick(LOWER, 5)}:${pick(ALNUM, 9)}@10.0.0.${Math.floor(r() * 200)}/app`,
    `hvs.${pick(ALNUM + '_-', 95)}`,
    `hvb.${pick(ALNUM + '_-', 140)}`,
    `vck_${pick(ALNUM, 40)}`,
    `vcp_${pick(ALNUM, 24)}`,
    `dapi${pick(HEX, 32)}-2`,
    `dckr_pat_${pick(ALNUM + '_-', 27)}`,
    `figd_${pick(ALNUM + '_-', 45)}`,
    `Api_Key := '${pick(ALNUM, 20)}'`,
    `pAsSwOrD: "${pick(ALNUM, 6)}!${pick(DIGITS, 4)}"`,
    `client_credentials=${pick(ALNUM, 30)}`,
    `ssh://deploy:${pick(ALNUM, 12)}@git.example.org/repo.git`,
    `${pick(LOWER, 6)}.${pick(LOWER, 4)}@${pick(LOWER, 7)}.example.com`,
  ];
}

/** Pieces that contain a trigger but no secret, and ordinary text. */
const NEAR_MISSES = [
  'npm_install', 'ghp_short', 'github_pat_', 'hf_hub_download(repo_id)', 'lin_reg', 'ops_count', 'vcs_root', 'glc_', 'ntn_1', 'figd_', 'dckr_pat_', 'shpat_',
  'token = None', 'password: str', 'API_KEY=${OPENAI_API_KEY}', 'SECRET_KEY = os.environ["SECRET_KEY"]', "password = settings_dict['OPTIONS'].get('passfile')",
  'AWS_SECRET_ACCESS_KEY=', 'aws_secret_access_key =', 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'AKIAIOSFODNN7EXAMPLE', 'aws_account_id = 1234-5678-9012',
  'https://github.com/acme/app', 'http://localhost:8000/x@y', 'http://user:pass@example.com', 'mongodb://db:27017/app', 'postgres://user@host/db', 'ssh://git@github.com:acme/app',
  '-----BEGIN CERTIFICATE-----', '-----BEGIN RSA PRIVATE KEY-----\nMIIE...placeholder\n-----END RSA PRIVATE KEY-----', 'xoxb-', 'xapp-', 'sk-ant-api03-short', 'sk-proj-', 'T3BlbkFJ',
  'SG.x.y', 'hvs.short', 'dapi1234', 'hooks.slack.com/services/', '// secretlint-disable', '# secretlint-disable-next-line', 'key: value', 'tokens := 12345678', 'e-mail me @ home.',
  '\u0000', '\n\u0000\u0000\n', '\ufeff', 'ſecret = abcdefgh12345678', 'TOKEN = ＡＢＣＤＥＦＧＨ12345678', 'é', '😀', '\\n', '\\"',
];

describe('the preset and the triggers', () => {
  it('every rule and message of the preset was reviewed for the triggers', () => {
    const unreviewed: string[] = [];
    for (const rule of presetRules) {
      const covered = PRESET_COVERAGE[rule.meta.id];
      if (!covered) {
        unreviewed.push(`${rule.meta.id} (a new rule: write its trigger in src/redact/triggers.ts, or say why it needs none)`);
        continue;
      }
      for (const message of Object.keys(rule.messages ?? {})) {
        if (!(message in covered.messages)) unreviewed.push(`${rule.meta.id} message ${message}`);
      }
    }
    expect(unreviewed).toEqual([]);
    // Triggers name rules of the config (the prefilter runs only the rules whose triggers matched).
    const ids = new Set(SECRETLINT_RULES.map((r) => r.meta.id));
    for (const t of TRIGGERS) if (t.group === 'secretlint') expect(ids.has(presetRule(t)), t.rule).toBe(true);
    // And every rule said to be covered by a trigger has one.
    for (const [id, { messages }] of Object.entries(PRESET_COVERAGE)) {
      const short = id.replace('@secretlint/secretlint-rule-', '');
      for (const [message, how] of Object.entries(messages)) {
        if (how === 'trigger') expect(TRIGGERS.some((t) => t.rule === `${short}/${message}` || t.rule === `${short}/*`), `${id} ${message}`).toBe(true);
      }
    }
  });

  it('leaves the comment filter out: an in-band secretlint-disable does not switch redaction off', async () => {
    expect(SECRETLINT_RULES.map((r) => r.meta.id)).not.toContain(FILTER_COMMENTS_RULE);
    expect(SECRETLINT_RULES).toHaveLength(presetRules.length - 1);
    const s = plantedSecrets(5);
    const texts = [
      `// secretlint-disable\n${s[1]!.text}\n${s[2]!.text}`,
      `${s[6]!.text} // secretlint-disable-line`,
      `# secretlint-disable-next-line\n${s[11]!.text}`,
    ];
    for (const prefilter of [true, false]) {
      const r = new Redactor({ emails: false, allow: [], prefilter });
      for (const t of texts) {
        const { value } = await r.redactText(t);
        for (const p of s) if (t.includes(p.text)) expect(value, `${p.type}, prefilter ${prefilter}`).not.toContain(p.secret);
      }
    }
  });
});

describe('the trigger passes', () => {
  it('pass 1 is wider than every trigger, pass 2 finds each trigger exactly where it matches', () => {
    const r = rng(7331);
    const pieces = [...NEAR_MISSES, ...[1, 2].flatMap((seed) => [...everyRule(seed), ...plantedSecrets(seed).flatMap((p) => [p.text, p.secret])])];
    const texts: string[] = [...pieces];
    for (let k = 0; k < 3000; k++) {
      const a = pieces[Math.floor(r() * pieces.length)]!;
      const b = pieces[Math.floor(r() * pieces.length)]!;
      // Pieces cut and glued at random places: triggers half there, in odd company, at either end.
      texts.push(a.slice(Math.floor(r() * a.length)) + (r() < 0.5 ? '' : ' ') + b.slice(0, Math.floor(r() * (b.length + 1))));
    }
    for (const emails of [false, true]) {
      const all = [...TRIGGERS, ...(emails ? [EMAIL_TRIGGER] : [])];
      const t = triggerTest({ emails });
      let fired = 0;
      for (const text of texts) {
        // Pass 2 as scanMany does it: the triggers anchored where pass 1 matches, checked there.
        const found = new Set<Trigger>();
        t.places.lastIndex = 0;
        for (let m = t.places.exec(text); m !== null; m = t.places.exec(text)) {
          const c = text.charCodeAt(m.index);
          for (const x of c < 128 ? t.byAnchor[c]! : t.others) {
            x.at.lastIndex = m.index;
            if (x.at.test(text)) found.add(x.trigger);
          }
          t.places.lastIndex = m.index + 1;
        }
        for (const trigger of all) {
          const matches = new RegExp(plain(trigger)).test(text);
          expect(found.has(trigger), `${trigger.rule} in ${JSON.stringify(text)}`).toBe(matches);
          if (matches) expect(t.first.test(text), text).toBe(true);
        }
        if (found.size) fired++;
      }
      expect(fired).toBeGreaterThan(1000);
    }
  });
});

describe('the prefilter finds exactly what the full scan finds', () => {
  it('in the planted corpus of bench/secrets.ts, in every field', async () => {
    const r = pairs(OPTIONS[0]!);
    let n = 0;
    for (const seed of [101, 102, 7, 11]) {
      for (const s of plantedSecrets(seed)) for (const field of FIELDS) await sameRun(plantedRun(s, field, n++), r);
    }
  });

  it('for every type twice in one text and echoed bare in another (every occurrence)', async () => {
    for (const seed of [1, 2, 3]) {
      const planted = plantedSecrets(seed);
      const extra = everyRule(seed);
      const twice = [...planted.map((p) => p.text), ...extra].flatMap((t) => [t, t]).join('\n');
      const bare = planted.map((p) => p.secret).join(' ');
      const run = makeRun({ task: 'Deploy it.' }, seed);
      const messages = run.messages.map((m, i) => (i === 2 ? { ...m, content: twice } : i === 3 ? { ...m, content: `echo ${bare}` } : m));
      const value = await sameRun({ ...run, messages, meta: { env: bare } });
      // (A private key's `secret` is one line of its body; the body is the secret found, so one line echoed alone stays.)
      for (const p of planted) if (p.type !== 'private-key') expect(JSON.stringify(value), p.type).not.toContain(p.secret);
      for (const opts of OPTIONS) expect(await sameFindings([twice, 'nothing here', bare, twice.toUpperCase()], opts)).toBeGreaterThan(0);
    }
  });

  it('where triggers appear without a secret', async () => {
    for (const opts of OPTIONS) {
      await sameFindings(NEAR_MISSES, opts);
      await sameFindings([NEAR_MISSES.join(' '), NEAR_MISSES.join('\n')], opts);
      for (const t of NEAR_MISSES) await sameFindings([t], opts);
    }
    await sameRun(makeRun({ task: NEAR_MISSES.join(' ') }));
  });

  it('in thousands of seeded random texts with secrets planted at random places', async () => {
    const r = rng(20261202);
    const pieces = [...NEAR_MISSES, ' ', '\n', '\t', '=', ':', '"', "'", '_', '-', '.', '@', '//', '\\n', '\ufeff'];
    const secrets = [1, 2, 3, 4].flatMap((seed) => [...plantedSecrets(seed).flatMap((p) => [p.text, p.secret]), ...everyRule(seed)]);
    const alphabet = ALNUM + ' \n\t_-.:=@/"\'`,;&|<>()[]{}\\+%#?!*$~' + 'éſＡ\u00a0\u2028\ufeff\u0000';
    const randomText = (): string => {
      const parts: string[] = [];
      const n = Math.floor(r() * 8);
      for (let i = 0; i < n; i++) {
        const x = r();
        if (x < 0.35) parts.push(Array.from({ length: Math.floor(r() * 40) }, () => alphabet[Math.floor(r() * alphabet.length)]).join(''));
        else if (x < 0.65) parts.push(pieces[Math.floor(r() * pieces.length)]!);
        else {
          let s = secrets[Math.floor(r() * secrets.length)]!;
          const how = r();
          if (how < 0.15) s = JSON.stringify(s).slice(1, -1);
          else if (how < 0.25) s = s.match(new RegExp(`.{1,${10 + Math.floor(r() * 80)}}`, 'gs'))!.join('\n');
          else if (how < 0.3) s = s.toUpperCase();
          else if (how < 0.35) s = s.slice(0, Math.floor(r() * s.length));
          parts.push(s);
        }
      }
      return parts.join(r() < 0.5 ? '' : ' ');
    };
    let records = 0;
    let findings = 0;
    for (let k = 0; k < 2500; k++) {
      const texts = Array.from({ length: 1 + Math.floor(r() * 6) }, randomText);
      if (r() < 0.1) texts[0] = `\ufeff${texts[0]}`;
      findings += await sameFindings(texts, OPTIONS[k % 2]!);
      records++;
    }
    expect(records).toBe(2500);
    expect(findings).toBeGreaterThan(2500);
  }, 300_000);

  it('with an allow list', async () => {
    const s = plantedSecrets(3);
    const opts = { emails: false, allow: [s[0]!.secret, '/^ghp_/', '/^[A-Za-z0-9]{28}$/'] };
    const texts = [s.map((p) => p.text).join('\n'), s.map((p) => p.secret).join(' ')];
    expect(await sameFindings(texts, opts)).toBeGreaterThan(0);
  });

  it('on the real runs in ../shared/corpus', async () => {
    const corpus = resolve(ROOT, '../shared/corpus');
    if (!existsSync(corpus)) {
      process.stdout.write(`\n!!!!!!!! SKIPPED (../shared/corpus not found): the prefilter was not compared with the full scan on real runs\n\n`);
      return;
    }
    // Canonicalised as bench/redact.ts does it: ingest with redaction off.
    const out = join(await tempDir(), 'out');
    const r = await runCli(['run', '--input', corpus, '--out', out, '--only', 'ingest', '--quiet', '--set', 'ingest.redact.enabled=false']);
    expect(r.code, r.stderr).toBe(0);
    const both = OPTIONS.map(pairs);
    let runs = 0;
    for (const f of (await readdir(join(out, 'ingest'))).filter((f) => f.startsWith('part-')).sort()) {
      for (const line of (await readFile(join(out, 'ingest', f), 'utf8')).split('\n')) {
        if (!line) continue;
        for (const p of both) await sameRun(JSON.parse(line) as Trajectory, p);
        runs++;
      }
    }
    expect(runs).toBeGreaterThan(0);
  }, 300_000);
});

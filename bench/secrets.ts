// Fake credentials in the exact shapes real ones have, for the redaction tests and the recall bench.
// Generated from a seed: none is a live secret, and the same seed gives the same set.
import type { Trajectory } from '../schemas/index.js';

export interface PlantedSecret {
  /** The placeholder type trajpipe must report. */
  type: string;
  /** The text as it would appear in a trajectory (a command, a config line, an output). */
  text: string;
  /** The part that must not survive. */
  secret: string;
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

export function plantedSecrets(seed = 1): PlantedSecret[] {
  const r = rng(seed);
  const pick = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
  const awsId = 'AKIA' + pick(UPPER + '234567', 16);
  const awsSecret = pick(B64, 40);
  const ghp = 'ghp_' + pick(ALNUM, 36);
  const ghPat = 'github_pat_' + pick(ALNUM, 22) + '_' + pick(ALNUM, 59);
  const openai = 'sk-proj-' + pick(ALNUM + '_-', 74) + 'T3BlbkFJ' + pick(ALNUM + '_-', 74);
  const anthropic = 'sk-ant-api03-' + pick(ALNUM + '_-', 93) + 'AA';
  const slack = `xoxb-${pick(DIGITS, 12)}-${pick(DIGITS, 13)}-${pick(ALNUM, 24)}`;
  const npm = 'npm_' + pick(ALNUM, 36);
  const hf = 'hf_' + pick(UPPER + LOWER, 34);
  const gitlab = 'glpat-' + pick(ALNUM, 20);
  const sendgrid = `SG.${pick(ALNUM, 22)}.${pick(ALNUM, 43)}`;
  // A real key's base64 starts with MI (an ASN.1 SEQUENCE); secretlint ignores placeholder blocks without it.
  const pemBody = ['MIIEow' + pick(B64, 58), ...Array.from({ length: 5 }, () => pick(B64, 64))].join('\n');
  const pem = `-----BEGIN RSA PRIVATE KEY-----\n${pemBody}\n-----END RSA PRIVATE KEY-----`;
  const dbPass = pick(ALNUM, 10) + '!' + pick(ALNUM, 6);
  const urlToken = pick(ALNUM, 32);
  const generic = pick(ALNUM, 28);
  return [
    { type: 'aws-access-key', text: `export AWS_ACCESS_KEY_ID=${awsId}`, secret: awsId },
    { type: 'aws-secret-key', text: `export AWS_SECRET_ACCESS_KEY=${awsSecret}`, secret: awsSecret },
    { type: 'github-token', text: `git remote set-url origin https://x-access-token:${ghp}@github.com/acme/app.git`, secret: ghp },
    { type: 'github-token', text: `GITHUB_TOKEN=${ghPat}`, secret: ghPat },
    { type: 'openai-key', text: `client = OpenAI(api_key="${openai}")`, secret: openai },
    { type: 'anthropic-token', text: `ANTHROPIC_API_KEY=${anthropic}`, secret: anthropic },
    { type: 'slack-token', text: `curl -H "Authorization: Bearer ${slack}" https://slack.com/api/chat.postMessage`, secret: slack },
    { type: 'npm-token', text: `//registry.npmjs.org/:_authToken=${npm}`, secret: npm },
    { type: 'huggingface-token', text: `huggingface-cli login --token ${hf}`, secret: hf },
    { type: 'gitlab-token', text: `export GITLAB_TOKEN=${gitlab}`, secret: gitlab },
    { type: 'sendgrid-token', text: `sg = SendGridAPIClient("${sendgrid}")`, secret: sendgrid },
    { type: 'private-key', text: `$ cat ~/.ssh/id_rsa\n${pem}`, secret: pemBody.split('\n')[2]! },
    { type: 'database-url', text: `DATABASE_URL=postgres://admin:${dbPass}@db.internal:5432/prod`, secret: dbPass },
    { type: 'url-credentials', text: `pip install --index-url https://deploy:${urlToken}@pypi.acme.dev/simple pkg`, secret: urlToken },
    { type: 'generic-secret', text: `STRIPE_SECRET=${generic}`, secret: generic },
  ];
}

const filler = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}: compiled module_${i % 97}.o in ${(i * 37) % 1000} ms`).join('\n');

/** Where a planted secret can sit in a run (bench/redact.ts measures recall per field; the tests reuse the runs). */
export type Field = 'task' | 'assistant-content' | 'reasoning' | 'tool-arguments' | 'observation-start' | 'observation-middle' | 'observation-end' | 'meta' | 'patch' | 'wrapped-80-cols';
export const FIELDS: Field[] = ['task', 'assistant-content', 'reasoning', 'tool-arguments', 'observation-start', 'observation-middle', 'observation-end', 'meta', 'patch', 'wrapped-80-cols'];

/** A run holding one planted secret in one field: at the start, middle or end of a 20 KB observation, JSON-escaped in tool-call arguments, wrapped at 80 columns. */
export function plantedRun(s: PlantedSecret, field: Field, n: number): Trajectory {
  const long = filler(400);
  const wrapped = s.text.match(/.{1,80}/gs)!.join('\n');
  const observation = field === 'observation-start' ? `${s.text}\n${long}` : field === 'observation-middle' ? `${long}\n${s.text}\n${long}` : field === 'observation-end' ? `${long}\n${s.text}` : field === 'wrapped-80-cols' ? `${long}\n${wrapped}` : long;
  const args = JSON.stringify({ command: field === 'tool-arguments' ? s.text : 'make test' });
  return {
    id: `r${n}`,
    task_id: `acme__svc-${n}`,
    task: field === 'task' ? `The deploy fails.\n${s.text}` : 'The deploy fails.',
    source: { harness: 'canonical', format: 'canonical-1', file: 'planted.jsonl', record: n, teacher_model: null },
    messages: [
      { role: 'user', content: 'The deploy fails.' },
      { role: 'assistant', content: field === 'assistant-content' ? `I will run ${s.text}` : 'I will run the tests.', ...(field === 'reasoning' ? { reasoning_content: `Maybe ${s.text}` } : {}), tool_calls: [{ id: 'c0', type: 'function', function: { name: 'bash', arguments: args } }] },
      { role: 'tool', content: observation, tool_call_id: 'c0', name: 'bash' },
    ],
    tools: null,
    steps: [{ index: 0, message_index: 1, actions: [{ kind: 'tool_call', name: 'bash', command: null, arguments: args, tool_call_id: 'c0' }], observation_indices: [2], flags: { format_error: false, timeout: false, truncated_observation: false, harness_error: false, submit: false } }],
    outcome: { resolved: false, exit_status: null, submitted_patch: field === 'patch' ? `+${s.text}\n` : null, label_source: null, failing_tests: null },
    meta: field === 'meta' ? { env: s.text } : {},
  } as Trajectory;
}

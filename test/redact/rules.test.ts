import { describe, expect, it } from 'vitest';
import { plantedSecrets } from '../../bench/secrets.js';
import { Redactor, placeholder } from '../../src/redact/record.js';
import { entropy, looksSecret } from '../../src/redact/generic.js';
import { makeRun } from '../label/fixtures.js';

const redactor = new Redactor({ emails: false, allow: [] });

describe('secret rules', () => {
  for (const p of plantedSecrets(7)) {
    it(`replaces a ${p.type} by its typed placeholder and keeps the text around it`, async () => {
      const before = 'line one\n$ ';
      const after = '\nline three';
      const { value, counts } = await redactor.redactText(before + p.text + after);
      expect(value).not.toContain(p.secret);
      expect(counts).toEqual({ [p.type]: 1 });
      expect(value.startsWith(before)).toBe(true);
      expect(value.endsWith(after)).toBe(true);
      // The command around the secret still reads: only the secret itself became the placeholder.
      const [head, tail] = p.text.split(p.type === 'private-key' ? /\n[^]*\n/ : p.secret);
      expect(value).toContain(head!.slice(0, 20));
      if (p.type !== 'private-key') expect(value).toContain(head! + placeholder(p.type) + tail!);
    });
  }

  it('leaves hashes, UUIDs, base64 blobs, identifiers and placeholders alone', async () => {
    const harmless = [
      'commit 3f786850e387550fdab836ed7e6dc881de23001b',
      'sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'id = "123e4567-e89b-12d3-a456-426614174000"',
      'data = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="',
      "password = settings_dict['OPTIONS'].get('passfile')",
      'token = kwargs.pop("token", None)',
      'API_KEY=${OPENAI_API_KEY}',
      'SECRET_KEY = os.environ["SECRET_KEY"]',
      "valid_urls = ['http://user:pass@example.com']",
      'refresh_token=oauth2_access_token',
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ];
    for (const text of harmless) expect((await redactor.redactText(text)).value, text).toBe(text);
  });

  it('judges generic values by entropy and shape', () => {
    expect(entropy('aaaaaaaa')).toBe(0);
    expect(looksSecret('Xq8zR2mL9vT4wB7n')).toBe(true);
    expect(looksSecret('settings_dict')).toBe(false);
    expect(looksSecret('changeme123')).toBe(false);
  });

  it('keeps allowlisted texts, as literals and as /regex/', async () => {
    const all = plantedSecrets(3);
    const aws = all.find((p) => p.type === 'aws-access-key');
    const gh = all.find((p) => p.secret.startsWith('ghp_'));
    const generic = all.find((p) => p.type === 'generic-secret');
    const allow = new Redactor({ emails: false, allow: [aws!.secret, '/^ghp_/'] });
    const text = `${aws!.text}\n${gh!.text}\n${generic!.text}`;
    const { value, counts } = await allow.redactText(text);
    expect(value).toContain(aws!.secret);
    expect(counts).toEqual({ 'generic-secret': 1 });
  });

  it('replaces e-mail addresses only when asked', async () => {
    const text = 'git config user.email "dev.person@acme-corp.com"';
    expect((await redactor.redactText(text)).value).toBe(text);
    expect((await new Redactor({ emails: true, allow: [] }).redactText(text)).value).toBe('git config user.email "[REDACTED:email]"');
  });

  it('redacts every text field of a trajectory, recomputes its id and flags the run', async () => {
    const s = plantedSecrets(11);
    const run = makeRun({ task: `Deploy with ${s[0]!.text}` });
    const msgs = run.messages.map((m, i) => {
      if (m.role === 'tool' && i === 3) return { ...m, content: `${'x'.repeat(5000)}\n${s[1]!.text}\n${'y'.repeat(5000)}` };
      if (m.role === 'assistant' && i === 2) return { ...m, reasoning_content: `I will use ${s[4]!.text}`, tool_calls: [{ ...m.tool_calls![0]!, function: { name: 'bash', arguments: JSON.stringify({ command: s[2]!.text }) } }] };
      return m;
    });
    const steps = run.steps.map((st, i) => (i === 0 ? { ...st, actions: [{ ...st.actions[0]!, command: s[2]!.text, arguments: JSON.stringify({ command: s[2]!.text }) }] } : st));
    const dirty = { ...run, messages: msgs, steps, meta: { env: s[12]!.text }, outcome: { ...run.outcome, submitted_patch: `+${s[6]!.text}` } };
    const { value, counts } = await redactor.redactTrajectory(dirty);
    const text = JSON.stringify(value);
    for (const i of [0, 1, 2, 4, 6, 12]) expect(text).not.toContain(s[i]!.secret);
    expect(value.id).not.toBe(dirty.id);
    expect(value.task_id).toBe(dirty.task_id);
    expect(value.meta.redacted).toEqual(counts);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(7);
    // Untouched runs come back as they were (same object, same id).
    const clean = makeRun({ task: 'Fix the parser.' });
    expect((await redactor.redactTrajectory(clean)).value).toBe(clean);
  });
});

import type { Finding, ScanOptions } from './rules.js';

// Rules the maintained preset does not have: secrets assigned to a variable whose name says so
// (KEY=, TOKEN=, PASSWORD=), credentials inside any URL, and optionally e-mail addresses. The
// assignment rule checks the value's entropy, so that `TOKEN=none`, `PASSWORD=$DB_PASS` or
// `api_key=os.environ["KEY"]` survive while `API_TOKEN=q8Zr2...` does not.

// Anchored on the word that says "secret" (the regex engine scans for it fast), then the rest of the
// name, the connector (=, :=, :, with optional quotes) and the value.
const ASSIGNMENT = /(?:SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|AUTH_?KEY|CREDENTIALS?)[A-Za-z0-9_.-]*(["']?[ \t]*(?:=|:=|:)[ \t]*)(["']?)([^\s"'`,;&|<>()[\]{}\\]{8,256})/gi;
const URL_CREDENTIALS = /:\/\/([^\s:/?#@"'<>]{1,128}):([^\s/?#@"'<>]{1,256})@(?=[A-Za-z0-9[])/g;
const EMAIL = /@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/g;
const EMAIL_LOCAL = /[A-Za-z0-9._%+-]{1,64}$/;

/** Whether position i sits inside a URL (a "://" before it with no whitespace in between). */
function insideUrl(text: string, i: number): boolean {
  const from = Math.max(0, i - 256);
  const before = text.slice(from, i);
  const at = before.lastIndexOf('://');
  return at !== -1 && !/\s/.test(before.slice(at));
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Values that name a secret instead of holding one. */
function looksLikeReference(v: string): boolean {
  return (
    /^\$|^%|^\{\{|^<|^\*+$|^x+$/i.test(v) ||
    /^(?:os\.|process\.|env\.|self\.|this\.|settings\.|config\.|getenv|none|null|true|false|undefined|changeme|secret|password|example|dummy|test|placeholder|your[_-])/i.test(v) ||
    /[()]/.test(v) ||
    /^\[REDACTED:/.test(v) ||
    // AWS and other vendors document keys ending in EXAMPLE / EXAMPLEKEY.
    /EXAMPLE/.test(v)
  );
}

/** A dotted or snake_case name (settings_dict, kwargs.pop, Credential.from): code, not a secret. */
const IDENTIFIER = /^(?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*$|^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$/;

/** A value worth redacting: long enough, mixed classes, random-looking (high entropy), not code. */
export function looksSecret(v: string): boolean {
  if (v.length < 8 || looksLikeReference(v) || IDENTIFIER.test(v)) return false;
  if (!/[0-9]/.test(v) || !/[A-Za-z]/.test(v)) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(v)).length;
  if (classes < 3 && v.length < 24) return false;
  return entropy(v) >= (v.length >= 20 ? 3.5 : 3.0);
}

export function genericFindings(text: string, opts: ScanOptions): Finding[] {
  const out: Finding[] = [];
  for (const m of text.matchAll(ASSIGNMENT)) {
    const value = m[3]!;
    if (!looksSecret(value) || insideUrl(text, m.index!)) continue;
    const start = m.index! + m[0].length - value.length;
    out.push({ start, end: start + value.length, type: 'generic-secret' });
  }
  for (const m of text.matchAll(URL_CREDENTIALS)) {
    const password = m[2]!;
    if (password.length < 8 || looksLikeReference(password) || !/[0-9]/.test(password)) continue;
    const start = m.index! + 3 + m[1]!.length + 1;
    out.push({ start, end: start + password.length, type: 'url-credentials' });
  }
  if (opts.emails) {
    for (const m of text.matchAll(EMAIL)) {
      const local = EMAIL_LOCAL.exec(text.slice(Math.max(0, m.index! - 64), m.index!));
      if (!local) continue;
      const start = m.index! - local[0].length;
      if (start > 0 && /[:/]/.test(text[start - 1]!)) continue;
      if (insideUrl(text, start)) continue;
      out.push({ start, end: m.index! + m[0].length, type: 'email' });
    }
  }
  return out;
}

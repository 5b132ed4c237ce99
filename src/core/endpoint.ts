/**
 * Endpoint URLs (teacher, embeddings) may carry secrets: `user:password@` or a `?token=...` query. They are
 * sent where they must go and shown nowhere else: every manifest, dataset card, log line and error message
 * that could hold one goes through scrubUrl or scrubUrlsInText.
 */

/** The URL without credentials, query or fragment; unchanged when it has none (so fingerprints stay put). */
export function scrubUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not a URL we can parse: keep only what comes before any credentials or query.
    return url.replace(/\/\/[^/@\s]*@/, '//').replace(/[?#].*$/, '');
  }
  if (!u.username && !u.password && !u.search && !u.hash) return url;
  return `${u.protocol}//${u.host}${u.pathname}`;
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`()]+/gi;

/** Every URL inside a text scrubbed (error messages of HTTP clients quote the URL they were given). */
export function scrubUrlsInText(text: string): string {
  return text.replace(URL_IN_TEXT, (m) => {
    // Sentence punctuation right after a URL is not part of it.
    const tail = /[.,;:!]+$/.exec(m)?.[0] ?? '';
    return scrubUrl(m.slice(0, m.length - tail.length)) + tail;
  });
}

/** Every string inside a JSON-like value scrubbed (a config slice before it is shown). */
export function scrubUrlsDeep<T>(value: T): T {
  if (typeof value === 'string') return scrubUrlsInText(value) as T;
  if (Array.isArray(value)) return value.map((v) => scrubUrlsDeep(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, scrubUrlsDeep(v)])) as T;
  }
  return value;
}

export interface SplitEndpoint {
  /** What the HTTP client is given as its base URL: no query, no credentials. */
  baseURL: string;
  /** The query parameters, sent with every request (e.g. Azure's api-version). */
  query: Record<string, string>;
  /** Values that must never be printed: the query's values and any password. */
  secrets: string[];
  /** Whether the URL held user:password@ (fetch refuses such URLs; the key belongs in the environment). */
  hasCredentials: boolean;
}

/** Splits an endpoint URL into what an SDK can use (base URL, default query) and what it cannot. */
export function splitEndpoint(url: string): SplitEndpoint {
  const u = new URL(url);
  const query = Object.fromEntries(u.searchParams.entries());
  const secrets = [...Object.values(query), decodeURIComponent(u.password), u.search.slice(1)].filter((s) => s.length >= 4);
  const hasCredentials = Boolean(u.username || u.password);
  return { baseURL: `${u.protocol}//${u.host}${u.pathname}`, query, secrets, hasCredentials };
}

import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { decodeUtf8 } from '../../core/text.js';
import { isObject } from '../../formats/types.js';

/** How a file is read, decided from its name; JSON files are then sniffed by content. */
export type FileKind = 'json' | 'jsonl' | 'parquet' | 'predictions-jsonl' | 'skip';

export function fileKind(file: string): { kind: FileKind; reason?: string } {
  const name = basename(file).toLowerCase();
  if (name.endsWith('.traj') || name.endsWith('.json')) return { kind: 'json' };
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) {
    // SWE-bench prediction files: patches to join, not trajectories.
    return /(^|[._-])(all_)?preds([._-]|$)|predictions/.test(name) ? { kind: 'predictions-jsonl' } : { kind: 'jsonl' };
  }
  if (name.endsWith('.parquet')) return { kind: 'parquet' };
  if (name.endsWith('.yaml') || name.endsWith('.yml')) return { kind: 'skip', reason: 'yaml-file' };
  if (name.endsWith('.log') || name.endsWith('.txt') || name.endsWith('.md')) return { kind: 'skip', reason: 'text-file' };
  return { kind: 'skip', reason: 'unsupported-file-type' };
}

/**
 * SWE-agent names a run folder `<model>__<data>__<config>__t-<temp>__p-<top_p>__c-<cost>[__install-<n>]`
 * (0.x `get_run_name`). Files copied out of such a folder often carry the folder's name in front of
 * their own: `<run>__<iid>.traj`, or `<run>___<iid>.traj`.
 */
const SWE_AGENT_RUN_NAME = /^(?<model>[^_][^/\\]*?)__[^/\\]*?__t-\d+(?:\.\d+)?__p-\d+(?:\.\d+)?__c-\d+(?:\.\d+)?(?:__install-\d+)?/;
/** SWE-bench experiments folders of SWE-agent submissions: `<yyyymmdd>_sweagent_<model>`. */
const SWE_BENCH_EXPERIMENT_FOLDER = /^\d{8}_swe-?agent_(?<model>.+)$/i;

function fileStem(file: string): string {
  return basename(file).replace(/\.(traj\.json|traj|json|jsonl|parquet)$/i, '');
}

/**
 * Task id taken from a file name when the record has none (SWE-agent 0.x: <instance_id>.traj). A file
 * named after its run folder (`gpt4__SWE-bench__default__t-0.00__p-0.95__c-2.00__install-1___pydicom__pydicom-1458.traj`)
 * gets the part after the run name, so decontamination by instance id still matches it.
 */
export function taskIdFromFileName(file: string): string {
  const stem = fileStem(file);
  const run = SWE_AGENT_RUN_NAME.exec(stem);
  if (run) {
    const rest = /^_{2,}(.+)$/.exec(stem.slice(run[0].length));
    if (rest) return rest[1]!;
  }
  return stem;
}

/**
 * The model a SWE-agent run folder is named after: the `<model>` of a run name (in the file's own name or
 * a folder above it), or of a SWE-bench experiments folder `20240402_sweagent_gpt4`. null when no name says.
 */
export function modelFromRunName(file: string): string | null {
  const fromRun = SWE_AGENT_RUN_NAME.exec(fileStem(file))?.groups?.model;
  if (fromRun) return fromRun;
  let dir = dirname(file);
  for (let i = 0; i < 3; i++) {
    const name = basename(dir);
    const m = SWE_AGENT_RUN_NAME.exec(name)?.groups?.model ?? SWE_BENCH_EXPERIMENT_FOLDER.exec(name)?.groups?.model;
    if (m) return m;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/** Does an unrecognised JSON value look like a run at all (then it is a rejected record, not a stray file)? */
export function looksLikeRunAttempt(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0 || v.some((x) => isObject(x) && ('role' in x || 'action' in x || 'observation' in x));
  if (!isObject(v)) return false;
  return ['messages', 'history', 'trajectory', 'fncall_messages', 'conversations', 'steps', 'trajectory_format'].some((k) => k in v);
}

export type JsonFileRead =
  | { ok: true; value: unknown; invalidUtf8: number }
  | { ok: false; reason: string; message: string; invalidUtf8: number };

/** Why JSON.parse refused a text: truncated (it stops mid-value) or otherwise bad. */
export function jsonParseFailure(err: unknown): { truncated: boolean; msg: string } {
  const msg = (err as Error).message;
  return { truncated: /Unexpected end of JSON input|Unterminated string/.test(msg), msg };
}

/**
 * A single-run JSON file parsed whole (size-capped), with the invalid UTF-8 sequences that decoding
 * replaced counted. The depth is checked by the caller (normalizeParsed) before any recursive code.
 */
export async function readJsonFile(path: string, maxBytes: number): Promise<JsonFileRead> {
  const st = await stat(path);
  if (st.size > maxBytes) return { ok: false, reason: 'file-too-large', message: `${st.size} bytes is more than ingest.max_json_bytes (${maxBytes}); single-run JSON files are parsed whole`, invalidUtf8: 0 };
  if (st.size === 0) return { ok: false, reason: 'empty-file', message: 'the file is empty (0 bytes)', invalidUtf8: 0 };
  const { text, invalid } = decodeUtf8(await readFile(path));
  try {
    return { ok: true, value: JSON.parse(text), invalidUtf8: invalid };
  } catch (err) {
    const { truncated, msg } = jsonParseFailure(err);
    const binary = invalid > 0 ? `; ${invalid} invalid UTF-8 sequence(s), is it a binary file?` : '';
    return {
      ok: false,
      reason: truncated ? 'truncated-file' : 'bad-json',
      message: truncated ? `the JSON stops before it is complete (${msg}${binary})` : `it is not valid JSON (${msg}${binary})`,
      invalidUtf8: invalid,
    };
  }
}

/** Outcome files that may sit beside a run folder: the folder itself, results/ and logs/ (and logs/<iid>/report.json). */
export async function outcomeCandidates(dir: string): Promise<string[]> {
  const out: string[] = [];
  const jsonIn = async (d: string): Promise<string[]> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isFile() && /\.json$/i.test(e.name) && !/\.traj\.json$/i.test(e.name)).map((e) => join(d, e.name));
  };
  out.push(...(await jsonIn(dir)));
  for (const sub of ['results', 'logs', 'reports']) {
    const d = join(dir, sub);
    out.push(...(await jsonIn(d)));
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) out.push(...(await jsonIn(join(d, e.name))).filter((f) => basename(f) === 'report.json'));
  }
  return out.sort();
}

/** The folder and its ancestors, nearest first, `levels` above it at most. */
export function ancestors(dir: string, levels: number): string[] {
  const out = [resolve(dir)];
  for (let i = 0; i < levels; i++) {
    const up = dirname(out[out.length - 1]!);
    if (up === out[out.length - 1]) break;
    out.push(up);
  }
  return out;
}

/**
 * Model named by a run's metadata.yaml (SWE-bench experiments: `name: SWE-agent + gpt-4o-2024-05-13`),
 * for formats whose files do not say which model ran; else the model a SWE-agent run name names
 * (`modelFromRunName`).
 */
export class RunMetadata {
  private readonly cache = new Map<string, string | null>();

  async modelFor(file: string): Promise<string | null> {
    for (const dir of ancestors(dirname(file), 2)) {
      const model = await this.read(dir);
      if (model) return model;
    }
    return modelFromRunName(file);
  }

  private async read(dir: string): Promise<string | null> {
    if (this.cache.has(dir)) return this.cache.get(dir)!;
    let model: string | null = null;
    const text = await readFile(join(dir, 'metadata.yaml'), 'utf8').catch(() => null);
    if (text !== null) {
      // Imported here, not at start-up: worker threads load this module and never read metadata.yaml.
      const { parse: parseYaml } = await import('yaml');
      try {
        const doc: unknown = parseYaml(text);
        const name = isObject(doc) && typeof doc.name === 'string' ? doc.name : null;
        model = name ? (name.split(' + ').pop() ?? '').trim() || null : null;
      } catch {
        model = null;
      }
    }
    this.cache.set(dir, model);
    return model;
  }
}

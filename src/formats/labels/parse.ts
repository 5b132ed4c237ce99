import { basename, dirname } from 'node:path';
import { isObject, type Json } from '../types.js';

// Outcome files as evaluation tools write them. None of them is trusted to be complete: an id that no
// file mentions stays unlabelled.

export interface Verdict {
  /** null: the file mentions the run but gives no verdict (e.g. incomplete_ids). */
  resolved: boolean | null;
  /** The file's own word for it: resolved, unresolved, empty_patch, error, incomplete, ... */
  status: string;
  failing_tests: string[] | null;
}

export type LabelFormat = 'swebench-results' | 'swebench-report' | 'summary';

export type ParsedOutcomeFile =
  | { kind: 'labels'; format: LabelFormat; verdicts: Map<string, Verdict>; id_from_dir: boolean }
  | { kind: 'patches'; patches: Map<string, string> };

/** id lists of SWE-bench results.json and sb-cli reports; naming is inconsistent (`resolved` vs `*_ids`). */
const TRUE_KEYS = ['resolved', 'resolved_ids'];
const FALSE_KEYS = ['unresolved', 'unresolved_ids', 'empty_patch_ids', 'empty_error_patch_ids', 'error_ids', 'failed_ids'];
const NULL_KEYS = ['incomplete_ids', 'pending_ids'];

function stringList(v: unknown): string[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;
}

function statusName(key: string): string {
  return key === 'resolved' || key === 'resolved_ids' ? 'resolved' : key.replace(/_ids$/, '');
}

function idLists(v: Json): Map<string, Verdict> | null {
  if (![...TRUE_KEYS, ...FALSE_KEYS].some((k) => stringList(v[k]) !== null)) return null;
  const out = new Map<string, Verdict>();
  // Weakest first, so that a stronger list overrides: resolved beats every failure list.
  for (const [keys, resolved] of [[NULL_KEYS, null], [FALSE_KEYS, false], [TRUE_KEYS, true]] as const) {
    for (const k of keys) for (const id of stringList(v[k]) ?? []) out.set(id, { resolved, status: statusName(k), failing_tests: null });
  }
  return out;
}

/** Tests still failing after the patch, from a SWE-bench report's tests_status. */
function failingTests(report: Json): string[] | null {
  const ts = isObject(report.tests_status) ? report.tests_status : null;
  if (!ts) return null;
  const out: string[] = [];
  for (const group of ['FAIL_TO_PASS', 'PASS_TO_PASS']) {
    const g = ts[group];
    if (isObject(g) && Array.isArray(g.failure)) for (const t of g.failure) if (typeof t === 'string') out.push(t);
  }
  return out;
}

function reportVerdict(r: Json): Verdict {
  const resolved = r.resolved as boolean;
  const status = resolved ? 'resolved' : r.patch_is_None === true || r.patch_exists === false ? 'empty_patch' : 'unresolved';
  return { resolved, status, failing_tests: failingTests(r) };
}

function isFlatReport(v: Json): boolean {
  return typeof v.resolved === 'boolean' && ('tests_status' in v || 'patch_is_None' in v || 'patch_successfully_applied' in v || 'patch_exists' in v);
}

/** The instance id of a flat report: <iid>.report.json, or logs/<iid>/report.json. */
export function reportIdFromPath(path: string): { id: string | null; fromDir: boolean } {
  const name = basename(path);
  const m = /^(.+)\.report\.json$/i.exec(name);
  if (m) return { id: m[1]!, fromDir: false };
  if (name.toLowerCase() === 'report.json') return { id: basename(dirname(path)) || null, fromDir: true };
  return { id: null, fromDir: false };
}

function summaryRows(rows: unknown[]): Map<string, Verdict> | null {
  if (rows.length === 0 || !rows.every((r) => isObject(r) && typeof r.instance_id === 'string' && typeof r.resolved === 'boolean')) return null;
  const out = new Map<string, Verdict>();
  for (const r of rows as Json[]) out.set(r.instance_id as string, { resolved: r.resolved as boolean, status: r.resolved ? 'resolved' : 'unresolved', failing_tests: null });
  return out;
}

function predictions(v: unknown): Map<string, string> | null {
  const rows = Array.isArray(v) ? v : isObject(v) ? Object.values(v) : [];
  if (rows.length === 0 || !rows.every((r) => isObject(r) && typeof r.instance_id === 'string' && 'model_patch' in r)) return null;
  const out = new Map<string, string>();
  for (const r of rows as Json[]) if (typeof r.model_patch === 'string') out.set(r.instance_id as string, r.model_patch);
  return out;
}

/** Recognises an outcome file from its parsed content; null when it is not one. */
export function parseOutcomeFile(value: unknown, path: string): ParsedOutcomeFile | null {
  if (isObject(value)) {
    const lists = idLists(value);
    if (lists) return { kind: 'labels', format: 'swebench-results', verdicts: lists, id_from_dir: false };
    if (isFlatReport(value)) {
      const { id, fromDir } = typeof value.instance_id === 'string' ? { id: value.instance_id, fromDir: false } : reportIdFromPath(path);
      const verdicts = new Map<string, Verdict>();
      if (id) verdicts.set(id, reportVerdict(value));
      return { kind: 'labels', format: 'swebench-report', verdicts, id_from_dir: fromDir };
    }
    const entries = Object.entries(value);
    if (entries.length && entries.every(([, r]) => isObject(r) && typeof r.resolved === 'boolean')) {
      return { kind: 'labels', format: 'swebench-report', verdicts: new Map(entries.map(([id, r]) => [id, reportVerdict(r as Json)])), id_from_dir: false };
    }
    if (Array.isArray(value.instances)) {
      const rows = summaryRows(value.instances);
      if (rows) return { kind: 'labels', format: 'summary', verdicts: rows, id_from_dir: false };
    }
  }
  if (Array.isArray(value)) {
    const rows = summaryRows(value);
    if (rows) return { kind: 'labels', format: 'summary', verdicts: rows, id_from_dir: false };
  }
  const patches = predictions(value);
  return patches ? { kind: 'patches', patches } : null;
}

/** A line of a predictions JSON lines file (all_preds.jsonl): {instance_id, model_patch, ...}. */
export function predictionLine(v: unknown): { id: string; patch: string } | null {
  if (!isObject(v) || typeof v.instance_id !== 'string' || typeof v.model_patch !== 'string') return null;
  if ('messages' in v || 'history' in v || 'trajectory' in v) return null;
  return { id: v.instance_id, patch: v.model_patch };
}

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { PipelineConfig } from '../../schemas/index.js';
import { UserError } from '../core/errors.js';
import { displayPath } from '../io/inputs.js';
import { suggestKey } from './suggest.js';

export interface LoadedConfig {
  config: PipelineConfig;
  /** Where it came from, for messages. */
  file: string | null;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length ? issue.path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    const named = keys.map((k) => {
      const hint = suggestKey(PipelineConfig, issue.path, k);
      return `"${k}"${hint ? ` (did you mean "${hint}"?)` : ''}`;
    });
    return `${key === '(top level)' ? '' : key + ': '}unknown key${keys.length > 1 ? 's' : ''} ${named.join(', ')}`;
  }
  return `${key}: ${issue.message}`;
}

/**
 * Config keys holding paths. Written in a pipeline file, they are relative to the file's folder (so a
 * pipeline means the same from any working directory); given with --set or on the command line they
 * are relative to the working directory. label.cache_dir is resolved by the label stage itself.
 */
export const PATH_KEYS = [
  'inputs',
  'out',
  'tokenizer.path',
  'ingest.labels',
  'filter.decontaminate.ids',
  'dedup.semantic.cache_dir',
  'label.teacher.instructions_file',
  'label.teacher.tokenizer.path',
  'tokenize.tokenizer',
  'nightly.root',
] as const;

const GLOB_START = /^[!]/;

/** A path of a pipeline file as the run uses it: relative to the working directory when inside it. */
function fromFile(dir: string, value: unknown): unknown {
  if (typeof value !== 'string' || value === '' || isAbsolute(value) || GLOB_START.test(value)) return value;
  return displayPath(resolve(dir, value));
}

/** Rewrites the path keys of a pipeline file's raw mapping against the file's folder. */
export function resolveFilePaths(raw: Record<string, unknown>, file: string): void {
  const dir = dirname(resolve(file));
  for (const dotted of PATH_KEYS) {
    const keys = dotted.split('.');
    let node: unknown = raw;
    for (const k of keys.slice(0, -1)) node = node && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[k] : undefined;
    if (!node || typeof node !== 'object' || Array.isArray(node)) continue;
    const obj = node as Record<string, unknown>;
    const last = keys[keys.length - 1]!;
    if (!(last in obj)) continue;
    const v = obj[last];
    obj[last] = Array.isArray(v) ? v.map((x) => fromFile(dir, x)) : fromFile(dir, v);
  }
}

/** Sets a dotted path in a plain object, creating intermediate objects. */
export function setDotted(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  if (keys.some((k) => k === '')) throw new UserError(`--set key "${dotted}" is not a dotted path like dedup.minhash.threshold.`);
  let node: Record<string, unknown> = target;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (next === undefined || next === null) node[k] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) {
      throw new UserError(`--set ${dotted}: "${k}" is not a section of the config.`);
    }
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Parses KEY=VALUE, reading VALUE as YAML so that numbers, booleans and lists keep their type. */
export function parseSet(assignment: string): [string, unknown] {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UserError(`--set expects KEY=VALUE, got "${assignment}".`);
  const key = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1);
  try {
    return [key, parseYaml(raw) ?? null];
  } catch {
    throw new UserError(`--set ${key}: the value "${raw}" is not valid YAML.`);
  }
}

/**
 * Reads a pipeline file (or starts from defaults), applies --set overrides and validates the result,
 * so that a bad value is reported before any work starts, naming the file and the key.
 */
export async function loadConfig(file: string | null, sets: readonly string[] = [], defaults: Record<string, unknown> = { name: 'default' }): Promise<LoadedConfig> {
  let raw: unknown = structuredClone(defaults);
  if (file) {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UserError(err.code === 'ENOENT' ? `Pipeline file ${file} does not exist.` : `Cannot read pipeline file ${file}: ${err.message}.`);
    });
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
      throw new UserError(`${file} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}.`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError(`${file} must hold a mapping of config keys.`);
    resolveFilePaths(raw as Record<string, unknown>, file);
  }
  for (const s of sets) {
    const [key, value] = parseSet(s);
    setDotted(raw as Record<string, unknown>, key, value);
  }
  const parsed = PipelineConfig.safeParse(raw);
  if (!parsed.success) {
    const where = file ?? 'the config';
    const issues = parsed.error.issues.map(describeIssue);
    const fromSet = sets.length ? ` (after --set ${sets.join(' ')})` : '';
    throw new UserError(`Invalid config in ${where}${fromSet}: ${issues.join('; ')}.`);
  }
  return { config: parsed.data, file };
}

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { PipelineConfig } from '../../../schemas/index.js';
import { UserError } from '../../core/errors.js';
import { scrubUrl, splitEndpoint } from '../../core/endpoint.js';
import { loadTokenCounter } from '../../core/tokenizer.js';
import { BatchAccounts, TeacherAccounts } from '../../teacher/accounting.js';
import { createOpenAIBatchTransport, type BatchTransport } from '../../teacher/batch-client.js';
import { Batcher } from '../../teacher/batcher.js';
import { ResponseCache } from '../../teacher/cache.js';
import { CacheClaims } from '../../teacher/claims.js';
import { createOpenAITransport, redactor, type TeacherTransport } from '../../teacher/client.js';
import { TeacherLabeler } from '../../teacher/labeler.js';
import { BUILTIN_INSTRUCTIONS, BUILTIN_PROMPT_VERSION } from '../../teacher/prompt.js';
import { TeacherRequester } from '../../teacher/requester.js';
import type { Logger } from '../../runner/log.js';

export interface TeacherSetup {
  labeler: TeacherLabeler;
  requester: TeacherRequester;
  accounts: TeacherAccounts;
  cache: ResponseCache;
  /** Whether a key was found in the configured environment variable. */
  haveKey: boolean;
  /** label.mode: batch: builds the batch phase's batcher (its input files go to `workDir`); null in live mode. */
  batcher: ((workDir: string, log: Logger) => Batcher) | null;
}

/** The URL without credentials or query, for messages. */
export function describeEndpoint(url: string): string {
  return scrubUrl(url);
}

export async function loadInstructions(config: PipelineConfig): Promise<string> {
  const t = config.label.teacher;
  if (!t.instructions_file) return BUILTIN_INSTRUCTIONS;
  if (t.prompt_version === BUILTIN_PROMPT_VERSION) {
    throw new UserError(`label.teacher.instructions_file is set: give those instructions their own label.teacher.prompt_version (not ${BUILTIN_PROMPT_VERSION}).`);
  }
  return readFile(t.instructions_file, 'utf8').catch(() => {
    throw new UserError(`label.teacher.instructions_file ${t.instructions_file} cannot be read.`);
  });
}

/**
 * The cache folder as an absolute path: a relative label.cache_dir is taken from the run's output folder,
 * never from the working directory, so the same command started elsewhere finds the same answers.
 */
export function resolveCacheDir(cacheDir: string, outDir: string): string {
  return resolve(outDir, cacheDir);
}

/**
 * The second teacher (label.second_teacher) as a teacher of its own: its endpoint, model and key, one sample,
 * everything else (prompt, budget, limits, cache folder) as the first's. null when none is configured.
 */
export async function setUpSecondTeacher(config: PipelineConfig, outDir: string, transport?: TeacherTransport): Promise<TeacherSetup | null> {
  const second = config.label.second_teacher;
  if (!config.label.enabled || !second) return null;
  const teacher = { ...config.label.teacher, base_url: second.base_url, model: second.model, api_key_env: second.api_key_env, samples: 1, samples_mode: 'n' as const };
  return setUpTeacher({ ...config, label: { ...config.label, teacher } }, outDir, transport);
}

/** Everything the teacher path needs, built from the config; the transport can be replaced in tests. */
export async function setUpTeacher(config: PipelineConfig, outDir: string, transport?: TeacherTransport, batchTransport?: BatchTransport): Promise<TeacherSetup> {
  const { teacher, limits, cache_dir, mode, batch, cache_claims } = config.label;
  if (!teacher.base_url) throw new Error('setUpTeacher without base_url');
  if (!teacher.model) throw new UserError('label.teacher.base_url is set but label.teacher.model is not: name the teacher model (or --teacher-model).');
  if (splitEndpoint(teacher.base_url).hasCredentials) {
    throw new UserError(
      `label.teacher.base_url (${scrubUrl(teacher.base_url)}) holds user:password@, which HTTP clients refuse to send; put the key in the environment variable named by label.teacher.api_key_env instead.`,
    );
  }
  const apiKey = process.env[teacher.api_key_env] || undefined;
  const counter = await loadTokenCounter(teacher.tokenizer ?? config.tokenizer);
  const labeler = new TeacherLabeler(teacher, await loadInstructions(config), counter);
  const accounts = new TeacherAccounts({ promptPerMTok: limits.price_prompt_per_mtok, completionPerMTok: limits.price_completion_per_mtok }, limits.batch_price_factor);
  const cache = new ResponseCache(resolveCacheDir(cache_dir, outDir));
  const claims = cache_claims.enabled ? new CacheClaims(cache.dir, { staleMs: cache_claims.stale_s * 1000, heartbeatMs: cache_claims.heartbeat_s * 1000 }) : null;
  const endpoint = describeEndpoint(teacher.base_url);
  const requester = new TeacherRequester({
    transport: transport ?? createOpenAITransport({ baseURL: teacher.base_url, apiKey }),
    cache,
    claims,
    limits,
    accounts,
    meta: { model: teacher.model, prompt_version: teacher.prompt_version },
    endpoint,
  });
  const meta = { model: teacher.model, prompt_version: teacher.prompt_version };
  let batcher: TeacherSetup['batcher'] = null;
  if (mode === 'batch') {
    accounts.batch = new BatchAccounts();
    const baseURL = teacher.base_url;
    const redactBody = redactor([apiKey, ...splitEndpoint(baseURL).secrets]);
    batcher = (workDir, log) =>
      new Batcher(
        {
          transport: batchTransport ?? createOpenAIBatchTransport({ baseURL, apiKey, endpoint }),
          cache,
          settings: batch,
          limits,
          accounts,
          meta,
          endpoint,
          redactBody,
          log,
        },
        workDir,
      );
  }
  return { labeler, requester, accounts, cache, haveKey: apiKey !== undefined, batcher };
}

import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelFromRunName, taskIdFromFileName } from '../../src/stages/ingest/files.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { ingest, type IngestResult } from './helpers.js';

// Task ids and teacher models that only a file or folder name carries: SWE-agent run names
// (`<model>__<data>__<config>__t-…__p-…__c-…__install-<n>`), SWE-bench experiments folders, and the
// metadata of evaluation rows.

const NATIVE = 'data/sample/native';
const RUN = 'gpt4__SWE-bench__default__t-0.00__p-0.95__c-2.00__install-1';

describe('task id from a file name', () => {
  it('takes the instance id after a SWE-agent run name', () => {
    expect(taskIdFromFileName(`corpus/${RUN}___pydicom__pydicom-1458.traj`)).toBe('pydicom__pydicom-1458');
    expect(taskIdFromFileName(`x/gpt4__swe-agent__test-repo__default_from_url__t-0.00__p-0.95__c-3.00__install-1__swe-agent__test-repo-i1.traj`)).toBe('swe-agent__test-repo-i1');
    expect(taskIdFromFileName('x/claude-3-5-sonnet__lite__default__t-0.00__p-0.95__c-4.00___django__django-11099.traj')).toBe('django__django-11099');
  });

  it('leaves plain instance ids and other double-underscore names alone', () => {
    expect(taskIdFromFileName(`${RUN}/pydicom__pydicom-1458.traj`)).toBe('pydicom__pydicom-1458');
    expect(taskIdFromFileName('trajs/acme__pager-12.traj.json')).toBe('acme__pager-12');
    expect(taskIdFromFileName('replay__marshmallow-code__marshmallow-1867__function_calling.traj')).toBe('replay__marshmallow-code__marshmallow-1867__function_calling');
  });
});

describe('model from a run name', () => {
  it('reads the model of a SWE-agent run name in the file name or a folder above it', () => {
    expect(modelFromRunName(`corpus/${RUN}___pydicom__pydicom-1458.traj`)).toBe('gpt4');
    expect(modelFromRunName(`trajectories/me/${RUN}/pydicom__pydicom-1458.traj`)).toBe('gpt4');
    expect(modelFromRunName('evaluation/lite/20240402_sweagent_gpt4/trajs/django__django-11099.traj')).toBe('gpt4');
  });

  it('says nothing when no name names a model', () => {
    expect(modelFromRunName('runs/swe-agent-0.x/trajs/acme__pager-12.traj')).toBeNull();
    expect(modelFromRunName('evaluation/lite/20240604_CodeR/trajs/x.traj')).toBeNull();
  });
});

describe('ingest of runs whose id and model are only in names', () => {
  let result: IngestResult;
  const byFile = (part: string) => result.records.find((r) => r.source.file.includes(part))!;

  beforeAll(async () => {
    const dir = await tempDir('trajpipe-names-');
    // A SWE-agent 0.x run (no id, no model inside) copied out under the run-name convention, and one
    // inside a SWE-bench experiments folder without metadata.yaml.
    await copyFile(join(NATIVE, 'swe-agent-0.x/trajs/acme__pager-12.traj'), join(dir, `${RUN}___acme__pager-12.traj`));
    await mkdir(join(dir, '20240402_sweagent_gpt4/trajs'), { recursive: true });
    await copyFile(join(NATIVE, 'swe-agent-0.x/trajs/acme__retry-3.traj'), join(dir, '20240402_sweagent_gpt4/trajs/acme__retry-3.traj'));
    // OpenDevin v1.5 evaluation output (ProntoQA): [action, observation] pairs, model in metadata.model_name.
    const pairs = {
      id: 'prontoqa-7',
      instance: { question: 'Is Max a wumpus?' },
      instruction: 'Answer: is Max a wumpus?',
      metadata: { agent_class: 'CodeActAgent', model_name: 'gpt-4-1106-preview', max_iterations: 10 },
      history: [
        [
          { id: 0, source: 'user', action: 'message', args: { content: 'Answer: is Max a wumpus?' } },
          { message: 'No observation', observation: 'null', content: '', extras: {} },
        ],
        [
          { id: 1, source: 'agent', action: 'run_ipython', args: { code: 'print(1)', thought: 'Check.' } },
          { id: 2, cause: 1, observation: 'run_ipython', content: '1', extras: { code: 'print(1)' } },
        ],
      ],
      test_result: { result: true },
    };
    await writeFile(join(dir, 'prontoqa_output.jsonl'), JSON.stringify(pairs) + '\n');
    // A chat dataset row whose model is only in a metadata column.
    const row = JSON.parse((await readFile(join(NATIVE, 'hf/swe-smith-style.jsonl'), 'utf8')).split('\n')[0]!) as Record<string, unknown>;
    delete row.model;
    delete row.model_name;
    await writeFile(join(dir, 'chat-rows.jsonl'), JSON.stringify({ ...row, metadata: { model_name: 'qwen-teacher-1' } }) + '\n');
    result = await ingest([dir]);
  }, 60_000);

  it('gives a run-name file its instance id and the run-name model', () => {
    const r = byFile(`${RUN}___acme__pager-12.traj`);
    expect(r.task_id).toBe('acme__pager-12');
    expect(r.source.teacher_model).toBe('gpt4');
  });

  it('names the model of a SWE-bench experiments folder', () => {
    expect(byFile('20240402_sweagent_gpt4').source.teacher_model).toBe('gpt4');
  });

  it('reads metadata.model_name of evaluation outputs and chat rows', () => {
    expect(byFile('prontoqa_output.jsonl').source.teacher_model).toBe('gpt-4-1106-preview');
    expect(byFile('chat-rows.jsonl').source.teacher_model).toBe('qwen-teacher-1');
  });
});

const SHARED = resolve(ROOT, '../shared/corpus');
const HAVE_SHARED = existsSync(join(SHARED, 'swe-agent/upstream-repo'));
if (!HAVE_SHARED) console.warn(`SKIPPED: ${SHARED} not found; the run-name corpus test needs ../shared/corpus beside the project.`);

describe.skipIf(!HAVE_SHARED)('run names on the real corpus', () => {
  it('the upstream SWE-agent 0.x test run gets its instance id and model from the run name', async () => {
    const { records } = await ingest([join(SHARED, 'swe-agent/upstream-repo')]);
    const r = records.find((x) => x.source.file.includes('gpt4__swe-agent__test-repo__default_from_url'))!;
    expect(r.task_id).toBe('swe-agent__test-repo-i1');
    expect(r.source.teacher_model).toBe('gpt4');
  }, 60_000);
});

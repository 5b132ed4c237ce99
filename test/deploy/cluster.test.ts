// The job definitions in deploy/ (docs/cluster.md). The Kubernetes manifests in deploy/kubernetes/ are
// checked as far as a machine without a cluster allows: against the Kubernetes API schemas (kubernetes-models' validators, generated from the OpenAPI spec),
// strictly for unknown fields (the same package's types, through the TypeScript compiler: `kubectl apply`
// rejects an unknown field, the schemas alone do not), for agreeing with each other on N and paths, and
// for giving each pod its shard. (The Slurm scripts run on a real Slurm in scripts/slurm-check.sh.)
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';

const DIR = resolve('deploy/kubernetes');
type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function manifests(): Map<string, Doc> {
  const out = new Map<string, Doc>();
  for (const f of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) out.set(f, parse(readFileSync(join(DIR, f), 'utf8')) as Doc);
  return out;
}

/** The kubernetes-models class that validates a document of this kind. */
function validate(doc: Doc): void {
  if (doc.kind === 'Job') new Job(doc as never).validate();
  else if (doc.kind === 'PersistentVolumeClaim') new PersistentVolumeClaim(doc as never).validate();
  else throw new Error(`no validator for kind ${String(doc.kind)}`);
}

const TYPES: Record<string, [string, string]> = {
  Job: ['kubernetes-models/batch/v1/Job', 'IJob'],
  PersistentVolumeClaim: ['kubernetes-models/v1/PersistentVolumeClaim', 'IPersistentVolumeClaim'],
};

/** TypeScript's diagnostics for each document assigned, as an object literal, to its kind's type. */
function strictDiagnostics(docs: Doc[]): string[] {
  const files = new Map<string, string>();
  docs.forEach((doc, i) => {
    const [module, type] = TYPES[doc.kind as string]!;
    files.set(resolve(`test/deploy/__manifest_${i}.ts`), `import type { ${type} } from '${module}';\nexport const m: ${type} = ${JSON.stringify(doc, null, 1)};\n`);
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) => (files.has(f) ? ts.createSourceFile(f, files.get(f)!, lang) : getSourceFile.call(host, f, lang, ...rest));
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
  host.readFile = (f) => files.get(f) ?? readFile.call(host, f);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
}

const container = (job: Doc): Doc => job.spec.template.spec.containers[0];
const argAfter = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

describe('deploy/kubernetes manifests', () => {
  const docs = manifests();

  it('are the volume and the four phases', () => {
    expect([...docs.keys()]).toEqual(['0-volume.yaml', '1-shard.yaml', '2-reduce.yaml', '3-shard.yaml', '4-gather.yaml']);
  });

  it('validate against the Kubernetes API schemas', () => {
    for (const [file, doc] of docs) expect(() => validate(doc), file).not.toThrow();
  });

  it('the schema check catches a broken manifest (wrong enum, wrong type, missing required field)', () => {
    const bad = structuredClone(docs.get('1-shard.yaml')!);
    bad.spec.completionMode = 'indexed';
    bad.spec.completions = '4';
    delete container(bad).name;
    expect(() => validate(bad)).toThrow(/completionMode must be equal to one of the allowed values.*completions must be integer.*required property name/s);
  });

  it('have no unknown field (and the strict check catches one)', () => {
    const typo = structuredClone(docs.get('3-shard.yaml')!);
    container(typo).envv = container(typo).env;
    const diagnostics = strictDiagnostics([...docs.values(), typo]);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatch(/'"envv"' does not exist in type 'IContainer'/);
  });

  it('run phases 1 and 3 as Indexed Jobs whose shard count is the completions count', () => {
    for (const file of ['1-shard.yaml', '3-shard.yaml']) {
      const job = docs.get(file)!;
      expect(job.spec.completionMode, file).toBe('Indexed');
      expect(job.spec.template.spec.restartPolicy, file).toBe('Never'); // podFailurePolicy and backoffLimitPerIndex need it
      const args = container(job).args as string[];
      expect(args.slice(0, 2), file).toEqual(['run', '/data/pipelines/nightly.yaml']);
      expect(argAfter(args, '--shard'), file).toBe('auto');
      const count = (container(job).env as Doc[]).find((e) => e.name === 'TRAJPIPE_SHARD_COUNT');
      expect(count?.value, file).toBe(String(job.spec.completions));
      expect(job.spec.parallelism).toBeLessThanOrEqual(job.spec.completions);
      // Exit 3 (stopped early, e.g. a budget cap) fails the index instead of retrying it.
      const rule = (job.spec.podFailurePolicy.rules as Doc[]).find((r) => r.action === 'FailIndex');
      expect(rule?.onExitCodes).toEqual({ containerName: 'trajpipe', operator: 'In', values: [3] });
    }
  });

  it('agree on N, the pipeline, the run folder and the volume', () => {
    const n = docs.get('1-shard.yaml')!.spec.completions as number;
    expect(docs.get('3-shard.yaml')!.spec.completions).toBe(n);
    const claim = docs.get('0-volume.yaml')!.metadata.name as string;
    expect(docs.get('0-volume.yaml')!.spec.accessModes).toEqual(['ReadWriteMany']);
    for (const [file, doc] of docs) {
      if (doc.kind !== 'Job') continue;
      const args = container(doc).args as string[];
      expect(args[1], file).toBe('/data/pipelines/nightly.yaml');
      expect(argAfter(args, '--out'), file).toBe('/data/runs/nightly');
      if (args[0] !== 'run') expect(argAfter(args, '--shards'), file).toBe(String(n));
      expect(doc.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, file).toBe(claim);
      expect(container(doc).volumeMounts[0].mountPath, file).toBe('/data');
    }
    expect(docs.get('2-reduce.yaml')!.spec.template.spec.containers[0].args[0]).toBe('reduce');
    expect(docs.get('4-gather.yaml')!.spec.template.spec.containers[0].args[0]).toBe('gather');
  });
});

describe('the scheduler index variables map to the shard (shardFromEnv, as `--shard auto` uses it)', () => {
  it('Kubernetes: each completion index of the shard Jobs, with the TRAJPIPE_SHARD_COUNT the manifest sets', async () => {
    const { shardFromEnv } = await import('../../src/shard/scheduler-env.js');
    const docs = manifests();
    for (const file of ['1-shard.yaml', '3-shard.yaml']) {
      const job = docs.get(file)!;
      const n = job.spec.completions as number;
      // The manifest's own env (as a pod gets it), plus JOB_COMPLETION_INDEX, which Kubernetes sets for Indexed Jobs.
      const podEnv = Object.fromEntries((container(job).env as Doc[]).filter((e) => 'value' in e).map((e) => [e.name as string, e.value as string]));
      const seen = new Set<number>();
      for (let i = 0; i < n; i++) {
        const shard = shardFromEnv({ ...podEnv, JOB_COMPLETION_INDEX: String(i) });
        expect(shard, `${file} index ${i}`).toEqual({ index: i, count: n });
        seen.add(shard.index);
      }
      expect(seen.size).toBe(n);
      // Without the count the manifest sets, the index alone is refused rather than guessed.
      expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '0' })).toThrow(/TRAJPIPE_SHARD_COUNT/);
    }
  });

  it('Slurm: the array variables as sbatch --array sets them (the values Slurm 22.05 gave in scripts/slurm-check.sh)', async () => {
    const { shardFromEnv } = await import('../../src/shard/scheduler-env.js');
    for (const min of [0, 10]) {
      for (let id = min; id < min + 4; id++) {
        const env = { SLURM_ARRAY_JOB_ID: '41', SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: String(min), SLURM_ARRAY_TASK_MAX: String(min + 3), SLURM_ARRAY_TASK_COUNT: '4' };
        expect(shardFromEnv(env)).toEqual({ index: id - min, count: 4 });
      }
    }
    // A resubmission of one task (--array=2) looks like a one-task array to the variables: that is why
    // deploy/slurm/trajpipe.sbatch passes --shard "$SLURM_ARRAY_TASK_ID/N" with the N it is given.
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '2', SLURM_ARRAY_TASK_MAX: '2', SLURM_ARRAY_TASK_COUNT: '1' })).toEqual({ index: 0, count: 1 });
    expect(readFileSync('deploy/slurm/trajpipe.sbatch', 'utf8')).toContain('--shard "$SLURM_ARRAY_TASK_ID/$shards"');
  });
});

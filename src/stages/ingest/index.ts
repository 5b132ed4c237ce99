import type { PipelineConfig } from '../../../schemas/index.js';
import type { RejectInput, Stage, StageContext } from '../../runner/stage.js';
import { Redactor } from '../../redact/record.js';
import { RULESET_VERSION } from '../../redact/rules.js';
import { besideOutcomeFiles } from './beside.js';
import { IngestReader } from './reader.js';
import { ShardedIngest, ingestPartition } from './partition.js';

/**
 * Reads harness trajectories as they come (formats detected per file or record, see src/formats/)
 * into canonical records, with outcomes joined from label files or the records' own flags.
 */
export const ingestStage: Stage = {
  name: 'ingest',
  summary: 'Reads harness trajectories (SWE-agent, mini-swe-agent, OpenHands, HF chat datasets) into canonical records with outcomes.',
  // 3: secrets redacted (2: malformed messages, task ids after run names, teacher models).
  version: '3',
  // The redaction rule set's version is part of the slice: a new rule set reruns from ingest.
  // A sharded run's slice names its shard (the partition changes the output); a single process's has no such key.
  configSlice: (config: PipelineConfig) => ({
    ...config.ingest,
    ...(config.ingest.redact.enabled ? { redaction_rules: RULESET_VERSION } : {}),
    ...(config.shard ? { shard: { index: config.shard.index, count: config.shard.count, buckets: config.export.shard.buckets } } : {}),
  }),
  dependencyFiles: (config) => config.ingest.labels,
  // Only the outcome files the reader joins (same search, same parse): an unrelated .json beside the runs is not an input.
  async extraInputFiles(config, inputFiles) {
    if (!config.ingest.find_labels) return [];
    return (await besideOutcomeFiles(inputFiles)).map((b) => b.file).sort();
  },
  async run(ctx) {
    const partition = ingestPartition(ctx.config);
    if (!partition) {
      await new IngestReader(redactingRejects(ctx)).run();
      return;
    }
    const sharded = new ShardedIngest(ctx, partition);
    await new IngestReader(redactingRejects(sharded.ctx), (taskId) => sharded.leaveIfForeign(taskId)).run();
    sharded.finish();
  },
};

/**
 * Reject messages quote what they could not read (a JSON parse error shows a snippet of the line), so
 * they go through the same redaction as the runs before they reach rejects.jsonl.
 */
function redactingRejects(ctx: StageContext): StageContext {
  const r = ctx.config.ingest.redact;
  if (!r.enabled) return ctx;
  const redactor = new Redactor({ emails: r.emails, allow: r.allow });
  const reject = async (input: RejectInput): Promise<void> => ctx.reject({ ...input, message: (await redactor.redactText(input.message)).value });
  return new Proxy(ctx, { get: (target, key) => (key === 'reject' ? reject : Reflect.get(target, key, target)) });
}

import type { Outcome, Trajectory } from '../../../schemas/index.js';
import { trajectoryId } from '../../core/ids.js';
import type { LabelHit } from '../../formats/labels/index.js';
import { toJsonSafe } from '../../formats/meta.js';
import { buildSteps } from '../../formats/steps.js';
import { FormatError, type Draft } from '../../formats/types.js';

export type LabelOrigin = 'config' | 'record' | 'found' | 'none';

export interface Joined {
  trajectory: Trajectory;
  origin: LabelOrigin;
  conflict: boolean;
}

export interface AssembleInput {
  draft: Draft;
  file: string;
  record: number;
  /** Used when the record has no task id (one-run files); null for rows of a shard, which must carry one. */
  fallbackTaskId: string | null;
  lookup: (taskId: string) => LabelHit | null;
  patch: (taskId: string) => { patch: string; file: string } | null;
  runModel: string | null;
}

/**
 * A canonical trajectory from an adapter's draft, with its outcome joined. Precedence: outcome files
 * named in the config, then the record's own label (dataset flags, evaluation inside the file), then
 * outcome files found beside the run. With none of them, resolved stays null.
 */
export function assemble(input: AssembleInput): Joined {
  const { draft, file, record } = input;
  const taskId = draft.task_id?.trim() || input.fallbackTaskId;
  if (!taskId) throw new FormatError('missing-task-id', `Record ${record} of ${file} has no task id (no instance_id/task_id field) and a shard row cannot take one from the file name.`);
  const steps = buildSteps(draft.messages, draft.notes);
  if (steps.length === 0) throw new FormatError('empty-run', `Record ${record} of ${file} has no agent step outside demonstrations.`);

  const meta: Record<string, unknown> = { ...draft.meta };
  const hit = input.lookup(taskId);
  let origin: LabelOrigin = 'none';
  let resolved: boolean | null = null;
  let labelSource: string | null = null;
  let failing: string[] | null = null;
  if (hit?.explicit) origin = 'config';
  else if (draft.inline_label && draft.inline_label.resolved !== null) origin = 'record';
  else if (hit) origin = 'found';

  if (origin === 'record') {
    resolved = draft.inline_label!.resolved;
    labelSource = draft.inline_label!.source;
    failing = draft.inline_label!.failing_tests ?? null;
  } else if (hit && (origin === 'config' || origin === 'found')) {
    resolved = hit.verdict.resolved;
    meta.label_status = hit.verdict.status;
    if (resolved !== null) {
      labelSource = `${hit.format}:${hit.file}`;
      failing = hit.verdict.failing_tests;
    } else {
      // Mentioned without a verdict (incomplete/pending): stays unlabelled, but says where it was seen.
      meta.label_seen_in = hit.file;
      origin = 'none';
    }
    if (hit.conflict) meta.label_conflict = true;
  }

  let patch = draft.submitted_patch;
  if (patch === null) {
    const p = input.patch(taskId);
    if (p) {
      patch = p.patch;
      meta.patch_source = p.file;
    }
  }

  const outcome: Outcome = {
    resolved,
    exit_status: draft.exit_status,
    submitted_patch: patch,
    label_source: labelSource,
    failing_tests: resolved === null ? null : failing,
  };
  const trajectory: Trajectory = {
    id: trajectoryId(taskId, draft.harness, draft.messages),
    task_id: taskId,
    task: draft.task,
    source: { harness: draft.harness, format: draft.format, file, record, teacher_model: draft.teacher_model ?? input.runModel },
    messages: draft.messages,
    tools: draft.tools,
    steps,
    outcome,
    meta: toJsonSafe(meta) as Record<string, unknown>,
  };
  return { trajectory, origin, conflict: hit?.conflict ?? false };
}

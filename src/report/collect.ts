import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { STAGE_ORDER, type PipelineRecord, type ReportConfig, type StageManifest, type StageName } from '../../schemas/index.js';
import { readLines } from '../io/jsonl.js';
import { readManifest } from '../runner/runner.js';
import { stageRecords } from '../runner/records.js';
import { toReportRun, type ReportRun } from './runs.js';
import type { NightComparison } from '../nightly/compare.js';
import { readLabelQuality } from './quality.js';

/** One stage of the funnel, from its manifest (no timings: the report is deterministic). */
export interface FunnelStage {
  stage: StageName;
  records_in: number;
  records_out: number;
  dropped: Record<string, number>;
}

export interface RejectExample {
  message: string;
  id: string | null;
  task_id: string | null;
  file: string | null;
  record: number | null;
}

export interface RejectReason {
  stage: StageName;
  reason: string;
  count: number;
  examples: RejectExample[];
}

/** Counts of a group (a harness, a teacher model, an outcome) entering the pipeline and leaving segment. */
export type Breakdown = Record<string, { in: number; out: number }>;

export interface TeacherStats {
  labeler: string | null;
  model: string | null;
  prompt_version: string | null;
  requests: number;
  retries: number;
  failures: number;
  cache_hits: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Live and batch together. */
  estimated_cost: number;
  /** label.mode: batch: what the Batch API did, its tokens at the batch price; null in live mode. */
  batch: {
    price_factor: number;
    requests: number;
    answered: number;
    failed_lines: number;
    prompt_tokens: number;
    completion_tokens: number;
    estimated_cost: number;
    ids: string[];
  } | null;
}

export interface ReportData {
  name: string;
  complete: boolean;
  funnel: FunnelStage[];
  rejects: RejectReason[];
  breakdowns: { harness: Breakdown; teacher_model: Breakdown; outcome: Breakdown };
  /** Whether ingest's stats gave the counts read per group (else the page shows only what was kept). */
  breakdowns_in_known: { harness: boolean; teacher_model: boolean; outcome: boolean };
  shapes: Record<string, number>;
  /** Peak position as a fraction of the run's length, in ten bins (0-10 %, ..., 90-100 %). */
  peak_positions: number[];
  teacher: TeacherStats | null;
  /** label's stats.quality: verdicts, agreement, anomalies, calibration (null when absent). */
  label_quality: ReturnType<typeof readLabelQuality>;
  runs: ReportRun[];
  /** Run count whose messages were left out of the page (over max_runs_with_messages). */
  runs_without_messages: number;
  page_size: number;
  fold_chars: number;
  max_runs_with_messages: number;
  /** A nightly build's comparison with the previous night. */
  nightly?: NightComparison;
}

export type OutcomeName = 'resolved' | 'failed' | 'unknown';
export function outcomeOf(r: Pick<PipelineRecord, 'outcome'>): OutcomeName {
  return r.outcome.resolved === true ? 'resolved' : r.outcome.resolved === false ? 'failed' : 'unknown';
}

/** Every manifest of a run folder that exists and parses, in stage order. */
export async function readManifests(runDir: string): Promise<Map<StageName, StageManifest>> {
  const out = new Map<StageName, StageManifest>();
  for (const stage of STAGE_ORDER) {
    const m = await readManifest(join(runDir, stage));
    if (m) out.set(stage, m);
  }
  return out;
}

/** What the page shows of a run besides its messages. */
const REPORT_FIELDS = ['id', 'task_id', 'source', 'outcome', 'steps', 'values', 'segment'];

function bump(b: Breakdown, key: string, side: 'in' | 'out'): void {
  (b[key] ??= { in: 0, out: 0 })[side]++;
}

/** Streams rejects.jsonl of each stage, keeping a count and the first few examples per reason. */
async function collectRejects(runDir: string, manifests: Map<StageName, StageManifest>, perReason: number): Promise<RejectReason[]> {
  const out: RejectReason[] = [];
  for (const [stage, m] of manifests) {
    if (Object.keys(m.dropped).length === 0) continue;
    const byReason = new Map<string, RejectReason>();
    for (const reason of Object.keys(m.dropped).sort()) byReason.set(reason, { stage, reason, count: m.dropped[reason]!, examples: [] });
    const files = await readdir(join(runDir, stage)).catch(() => [] as string[]);
    if (files.includes('rejects.jsonl')) {
      for await (const line of readLines(join(runDir, stage, 'rejects.jsonl'))) {
        let r: { reason?: string; message?: string; id?: string | null; task_id?: string | null; file?: string | null; record?: number | null };
        try {
          r = JSON.parse(line.text);
        } catch {
          continue;
        }
        const entry = byReason.get(r.reason ?? '');
        if (!entry || entry.examples.length >= perReason) continue;
        entry.examples.push({ message: r.message ?? '', id: r.id ?? null, task_id: r.task_id ?? null, file: r.file ?? null, record: r.record ?? null });
      }
    }
    out.push(...byReason.values());
  }
  return out;
}

function teacherStats(label: StageManifest | undefined): TeacherStats | null {
  if (!label) return null;
  const s = label.stats as Record<string, unknown>;
  const t = (s['teacher'] ?? {}) as Record<string, number>;
  const num = (k: string) => (typeof t[k] === 'number' ? t[k] : 0);
  return {
    labeler: (s['labeler'] as string | undefined) ?? null,
    model: (s['model'] as string | undefined) ?? null,
    prompt_version: (s['prompt_version'] as string | undefined) ?? null,
    requests: num('requests'),
    retries: num('retries'),
    failures: num('failures'),
    cache_hits: num('cache_hits'),
    prompt_tokens: num('prompt_tokens'),
    completion_tokens: num('completion_tokens'),
    estimated_cost: num('estimated_cost'),
    batch: batchStats(t['batch']),
  };
}

function batchStats(value: unknown): TeacherStats['batch'] {
  if (!value || typeof value !== 'object') return null;
  const b = value as Record<string, unknown>;
  const num = (k: string) => (typeof b[k] === 'number' ? b[k] : 0);
  return {
    price_factor: num('price_factor'),
    requests: num('requests'),
    answered: num('answered'),
    failed_lines: num('failed_lines'),
    prompt_tokens: num('prompt_tokens'),
    completion_tokens: num('completion_tokens'),
    estimated_cost: num('estimated_cost'),
    ids: Array.isArray(b['ids']) ? b['ids'].filter((x): x is string => typeof x === 'string') : [],
  };
}

/**
 * Everything the page shows, read by streaming the run folder: manifests, rejects, ingest's parts (what came
 * in per group) and segment's parts (what was kept, with curves and cuts). Memory is bounded by the caps in
 * ReportConfig: messages are embedded for the first max_runs_with_messages runs only, each one shortened.
 */
export async function collectReport(runDir: string, name: string, cfg: ReportConfig): Promise<ReportData> {
  const manifests = await readManifests(runDir);
  const funnel: FunnelStage[] = [...manifests.values()].map((m) => ({
    stage: m.stage,
    records_in: m.records_in,
    records_out: m.records_out,
    dropped: Object.fromEntries(Object.entries(m.dropped).sort(([a], [b]) => a.localeCompare(b))),
  }));
  const breakdowns = { harness: {} as Breakdown, teacher_model: {} as Breakdown, outcome: {} as Breakdown };
  const count = (r: PipelineRecord, side: 'in' | 'out') => {
    bump(breakdowns.harness, r.source.harness, side);
    bump(breakdowns.teacher_model, r.source.teacher_model ?? '(unknown)', side);
    bump(breakdowns.outcome, outcomeOf(r), side);
  };

  // What came in per group is in ingest's stats; reading its parts again would double the report's cost.
  const ingestStats = (manifests.get('ingest')?.stats ?? {}) as Record<string, unknown>;
  const fromStats = (b: Breakdown, group: unknown, rename: Record<string, string> = {}) => {
    if (!group || typeof group !== 'object') return false;
    for (const [k, v] of Object.entries(group as Record<string, number>)) if (v > 0) (b[rename[k] ?? k] ??= { in: 0, out: 0 }).in += v;
    return true;
  };
  const known = {
    harness: fromStats(breakdowns.harness, ingestStats['per_harness']),
    teacher_model: fromStats(breakdowns.teacher_model, ingestStats['per_teacher_model']),
    outcome: fromStats(breakdowns.outcome, ingestStats['per_outcome'], { unlabelled: 'unknown' }),
  };

  const shapes: Record<string, number> = {};
  const peakPositions = new Array<number>(10).fill(0);
  const runs: ReportRun[] = [];
  let withoutMessages = 0;
  let messageChars = 0;
  const segment = manifests.get('segment');
  if (segment) {
    // Messages (most of each line) are decoded only for the runs whose messages the page embeds.
    for await (const l of stageRecords({ manifest: segment, dir: join(runDir, 'segment') }, { fields: REPORT_FIELDS })) {
      if (!l.ok) throw new Error(`Line ${l.line} of ${l.file} is not valid JSON (${l.message}).`);
      const embed = runs.length < cfg.max_runs_with_messages && messageChars < cfg.max_message_chars;
      const r = embed ? await l.whole() : l.record;
      count(r, 'out');
      const seg = r.segment;
      if (seg?.shape) shapes[seg.shape] = (shapes[seg.shape] ?? 0) + 1;
      if (seg?.peak_step != null && r.steps.length > 0) {
        const frac = r.steps.length > 1 ? seg.peak_step / (r.steps.length - 1) : 0;
        peakPositions[Math.min(9, Math.floor(frac * 10))]!++;
      }
      if (!embed) withoutMessages++;
      const run = toReportRun(r, embed ? cfg : null);
      for (const m of run.messages ?? []) messageChars += m.text.length;
      runs.push(run);
    }
  }
  return {
    name,
    complete: manifests.has('export'),
    funnel,
    rejects: await collectRejects(runDir, manifests, cfg.examples_per_reason),
    breakdowns,
    breakdowns_in_known: known,
    shapes,
    peak_positions: peakPositions,
    teacher: teacherStats(manifests.get('label')),
    label_quality: readLabelQuality(manifests.get('label')?.stats as Record<string, unknown> | undefined),
    runs,
    runs_without_messages: withoutMessages,
    page_size: cfg.page_size,
    fold_chars: cfg.fold_chars,
    max_runs_with_messages: cfg.max_runs_with_messages,
  };
}

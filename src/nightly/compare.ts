import { join } from 'node:path';
import type { NightlyGuards, StageManifest, StageName } from '../../schemas/index.js';
import { readManifests } from '../report/collect.js';
import { stageRecords } from '../runner/records.js';

export interface NightRun {
  id: string;
  task_id: string;
  harness: string;
  /** Kept through segment (into the export) tonight. */
  kept: boolean;
}

export interface ReasonChange {
  stage: StageName;
  reason: string;
  previous: number;
  tonight: number;
  /** Share of the records the stage read. */
  previous_share: number;
  tonight_share: number;
}

export interface NightComparison {
  night: string;
  previous: string | null;
  runs_tonight: number;
  runs_previous: number;
  new_runs: NightRun[];
  new_runs_count: number;
  gone_runs: NightRun[];
  gone_runs_count: number;
  new_tasks: string[];
  gone_tasks: string[];
  reasons: ReasonChange[];
  exported: { previous: number | null; tonight: number };
  cost: { requests: number; cache_hits: number; prompt_tokens: number; completion_tokens: number; estimated_cost: number };
  guards: string[];
}

/** Lists in the comparison are capped (the counts are not), so the page stays small on a big night. */
const MAX_LISTED = 1000;

interface NightIndex {
  runs: Map<string, { task_id: string; harness: string }>;
  kept: Set<string>;
  tasks: Set<string>;
  manifests: Map<StageName, StageManifest>;
}

/** Run ids of a night: everything ingest read (what came in), and what segment kept. */
async function indexNight(dir: string): Promise<NightIndex> {
  const manifests = await readManifests(dir);
  const runs = new Map<string, { task_id: string; harness: string }>();
  const tasks = new Set<string>();
  const kept = new Set<string>();
  const ingest = manifests.get('ingest');
  if (ingest) {
    for await (const l of stageRecords({ manifest: ingest, dir: join(dir, 'ingest') }, { fields: ['id', 'task_id', 'source'] })) {
      if (!l.ok) throw new Error(`Line ${l.line} of ${l.file} is not valid JSON (${l.message}).`);
      const r = l.record;
      runs.set(r.id, { task_id: r.task_id, harness: r.source.harness });
      tasks.add(r.task_id);
    }
  }
  const segment = manifests.get('segment');
  if (segment) for await (const l of stageRecords({ manifest: segment, dir: join(dir, 'segment') }, { fields: ['id'] })) {
    if (!l.ok) throw new Error(`Line ${l.line} of ${l.file} is not valid JSON (${l.message}).`);
    kept.add(l.record.id);
  }
  return { runs, kept, tasks, manifests };
}

const share = (n: number, of: number) => (of > 0 ? n / of : 0);
const round = (x: number) => Math.round(x * 1e4) / 1e4;

function reasonChanges(tonight: NightIndex, previous: NightIndex | null): ReasonChange[] {
  const out: ReasonChange[] = [];
  for (const [stage, m] of tonight.manifests) {
    const p = previous?.manifests.get(stage);
    const reasons = new Set([...Object.keys(m.dropped), ...Object.keys(p?.dropped ?? {})]);
    for (const reason of [...reasons].sort()) {
      const t = m.dropped[reason] ?? 0;
      const q = p?.dropped[reason] ?? 0;
      out.push({ stage, reason, previous: q, tonight: t, previous_share: round(share(q, p?.records_in ?? 0)), tonight_share: round(share(t, m.records_in)) });
    }
  }
  return out;
}

/** The sentences of every guard that trips; empty when none does (or when there is no previous night). */
export function checkGuards(c: Pick<NightComparison, 'reasons' | 'exported' | 'previous'>, guards: NightlyGuards): string[] {
  if (c.previous === null) return [];
  const tripped: string[] = [];
  if (guards.reject_share_factor !== null) {
    for (const r of c.reasons) {
      if (r.tonight_share < guards.reject_share_min) continue;
      if (r.tonight_share >= r.previous_share * guards.reject_share_factor && r.tonight_share > r.previous_share) {
        const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
        tripped.push(
          `The share of ${r.stage} rejects for ${r.reason} rose from ${pct(r.previous_share)} (${r.previous}) on ${c.previous} to ${pct(r.tonight_share)} (${r.tonight}) tonight, ` +
            `at least ${guards.reject_share_factor}x (nightly.guards.reject_share_factor).`,
        );
      }
    }
  }
  const { previous, tonight } = c.exported;
  if (guards.max_export_drop !== null && previous !== null && previous > 0 && (previous - tonight) / previous > guards.max_export_drop) {
    tripped.push(
      `Exported rows fell from ${previous} on ${c.previous} to ${tonight} tonight, by ${(((previous - tonight) / previous) * 100).toFixed(1)} %, ` +
        `more than ${(guards.max_export_drop * 100).toFixed(0)} % (nightly.guards.max_export_drop).`,
    );
  }
  return tripped;
}

export async function compareNights(nightDir: string, night: string, previousDir: string | null, previous: string | null, guards: NightlyGuards): Promise<NightComparison> {
  const t = await indexNight(nightDir);
  const p = previousDir ? await indexNight(previousDir) : null;
  const listed = (ids: Iterable<string>, from: NightIndex, keptIn: Set<string>) => {
    const all = [...ids].sort();
    return { count: all.length, list: all.slice(0, MAX_LISTED).map((id) => ({ id, ...from.runs.get(id)!, kept: keptIn.has(id) })) };
  };
  const newRuns = listed([...t.runs.keys()].filter((id) => !p?.runs.has(id)), t, t.kept);
  const goneRuns = p ? listed([...p.runs.keys()].filter((id) => !t.runs.has(id)), p, p.kept) : { count: 0, list: [] };
  const label = (t.manifests.get('label')?.stats['teacher'] ?? {}) as Record<string, number>;
  const num = (k: string) => (typeof label[k] === 'number' ? label[k] : 0);
  const base = {
    night,
    previous,
    runs_tonight: t.runs.size,
    runs_previous: p?.runs.size ?? 0,
    new_runs: newRuns.list,
    new_runs_count: newRuns.count,
    gone_runs: goneRuns.list,
    gone_runs_count: goneRuns.count,
    new_tasks: [...t.tasks].filter((x) => !p?.tasks.has(x)).sort().slice(0, MAX_LISTED),
    gone_tasks: p ? [...p.tasks].filter((x) => !t.tasks.has(x)).sort().slice(0, MAX_LISTED) : [],
    reasons: reasonChanges(t, p),
    exported: { previous: p?.manifests.get('export')?.records_out ?? null, tonight: t.manifests.get('export')?.records_out ?? 0 },
    cost: { requests: num('requests'), cache_hits: num('cache_hits'), prompt_tokens: num('prompt_tokens'), completion_tokens: num('completion_tokens'), estimated_cost: num('estimated_cost') },
  };
  return { ...base, guards: checkGuards(base, guards) };
}

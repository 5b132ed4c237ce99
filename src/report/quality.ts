// The report's "Label quality" section: label's stats.quality (verdicts, agreement, anomalies, calibration)
// rendered on the server side as plain tables, so it needs no script and stays deterministic.

type Quality = Record<string, Record<string, unknown> | null>;

const esc = (v: unknown) => (v === null || v === undefined ? '–' : String(v)).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function table(head: string[], rows: unknown[][]): string {
  if (!rows.length) return '<p class="muted">none</p>';
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c, i) => `<td${i ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

/** label's stats.quality, or null when the label manifest has none (label disabled, or an older run). */
export function readLabelQuality(stats: Record<string, unknown> | undefined): Quality | null {
  const q = stats?.['quality'];
  return q && typeof q === 'object' ? (q as Quality) : null;
}

export function renderLabelQuality(q: Quality | null): string {
  if (!q) return '<p class="muted">The label stage recorded no quality figures.</p>';
  const parts: string[] = [];
  const v = q['verdicts'];
  if (v && Number(v['runs'])) parts.push(`<h3>step verdicts</h3>${table(['runs', 'steps', 'incorrect steps', 'share incorrect'], [[v['runs'], v['steps'], v['incorrect_steps'], v['share_incorrect']]])}`);
  const s = q['samples'];
  if (s && Number(s['runs'])) {
    parts.push(`<h3>agreement between the K samples</h3>${table(['runs', 'mean spread', 'mean peak disagreement', 'mean rank correlation', 'runs disagreeing'], [[s['runs'], s['mean_spread'], s['mean_peak_disagreement'], s['mean_rank_correlation'], s['runs_disagreeing']]])}`);
  }
  const t = q['second_teacher'];
  if (t) {
    parts.push(
      `<h3>agreement with a second teacher (${esc(t['model'])})</h3>` +
        table(['runs', 'answered', 'mean peak distance', 'mean Spearman', 'trained span changed', 'share'], [[t['runs'], t['answered'], t['mean_peak_distance'], t['mean_rank_correlation'], t['runs_span_changed'], t['share_span_changed']]]),
    );
  }
  const a = (q['anomalies'] ?? {}) as Record<string, number>;
  parts.push(`<h3>anomalies (flagged in values.flags)</h3>${table(['flag', 'runs'], Object.entries(a))}`);
  const c = q['calibration'] as { by_outcome?: Record<string, Record<string, unknown>>; reliability?: Record<string, unknown>[] | null } | null;
  if (c?.by_outcome) {
    parts.push(
      `<h3>final values against the outcome</h3>` +
        table(['outcome', 'runs', 'mean final value', 'share above 0.5'], Object.entries(c.by_outcome).map(([o, x]) => [o, x['runs'], x['mean_final_value'], x['share_final_above_half']])) +
        (c.reliability ? `<h3>reliability (calibration runs and failed runs)</h3>${table(['final value', 'runs', 'mean final value', 'resolved share'], c.reliability.map((b) => [b['bin'], b['runs'], b['mean_final_value'], b['resolved_share']]))}` : ''),
    );
  }
  return parts.join('\n');
}

/* The run report's page script: plain browser JavaScript, no build step. Reads the JSON embedded in
   #report-data and draws tables, uPlot charts and the paginated list of runs. */
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const api = { charts: {}, selected: null, selectRun };
  window.trajpipeReport = api;

  const $ = (sel, root) => (root || document).querySelector(sel);
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  const pct = (n, d) => (d > 0 ? ((100 * n) / d).toFixed(1) + ' %' : '–');
  const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
  const COLORS = { value: '#2563eb', smoothed: '#93c5fd', peak: '#16a34a', critical: '#dc2626', bar: '#6366f1', span: 'rgba(22,163,74,0.12)', cut: '#dc2626' };

  /** A bar chart over named categories, with uPlot's bars path builder. */
  function barChart(target, labels, values, opts) {
    const xs = labels.map((_, i) => i);
    const width = Math.max(320, Math.min(760, target.clientWidth || 600));
    const u = new uPlot(
      {
        width,
        height: (opts && opts.height) || 220,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [
          { splits: () => xs, values: (u, splits) => splits.map((i) => labels[i] ?? ''), grid: { show: false }, size: 40 },
          { size: 50 },
        ],
        series: [{}, { label: (opts && opts.label) || 'count', fill: COLORS.bar, stroke: COLORS.bar, paths: uPlot.paths.bars({ size: [0.6, 80] }), points: { show: false } }],
      },
      [xs, values],
      target,
    );
    return u;
  }

  // ---- header
  const totalIn = data.funnel.length ? data.funnel[0].records_in : 0;
  const exported = data.funnel.find((f) => f.stage === 'export');
  $('#summary').textContent =
    `${fmt(totalIn)} records read, ${exported ? fmt(exported.records_out) + ' exported' : 'not exported (the run did not reach export)'}; ` +
    `${fmt(data.runs.length)} runs in the list.`;

  // ---- a nightly build: what changed since the previous night
  (function nightly() {
    const c = data.nightly;
    if (!c) return;
    const root = $('#nightly');
    if (c.guards.length) root.append(el('div', { class: 'guards' }, el('h3', { text: 'Guards tripped' }), el('ul', {}, c.guards.map((g) => el('li', { text: g })))));
    root.append(
      el('p', { text: c.previous ? `Night ${c.night} against ${c.previous}: ${fmt(c.runs_tonight)} runs read (${fmt(c.runs_previous)} before); exported rows ${fmt(c.exported.tonight)} (${c.exported.previous === null ? '–' : fmt(c.exported.previous)} before).` : `Night ${c.night}: the first night, nothing to compare with.` }),
      el('table', { class: 'kv', id: 'night-cost' }, el('tbody', {},
        el('tr', {}, el('th', { text: 'teacher requests tonight' }), el('td', { class: 'num', 'data-field': 'requests', text: fmt(c.cost.requests) })),
        el('tr', {}, el('th', { text: 'answers from the cache' }), el('td', { class: 'num', 'data-field': 'cache_hits', text: fmt(c.cost.cache_hits) })),
        el('tr', {}, el('th', { text: 'tokens' }), el('td', { class: 'num', text: `${fmt(c.cost.prompt_tokens)} + ${fmt(c.cost.completion_tokens)}` })),
        el('tr', {}, el('th', { text: 'cost of the night' }), el('td', { class: 'num', text: '$' + c.cost.estimated_cost.toFixed(4) })),
      )),
    );
    const runList = (title, id, runs, count) =>
      el('div', { class: 'breakdown' }, el('h3', { text: `${title}: ${fmt(count)}` }),
        el('table', { id }, el('tbody', {}, runs.map((r) => el('tr', { 'data-run': r.id }, el('td', {}, r.kept ? el('a', { href: '#run-' + r.id }, el('code', { text: r.id })) : el('code', { text: r.id })), el('td', { text: r.task_id }), el('td', { text: r.harness }), el('td', { text: r.kept ? 'kept' : 'dropped' }))))),
        count > runs.length ? el('p', { class: 'muted small', text: `${fmt(count - runs.length)} more not listed` }) : null);
    root.append(el('div', { class: 'breakdowns' },
      runList('new runs', 'new-runs', c.new_runs, c.new_runs_count),
      runList('runs gone', 'gone-runs', c.gone_runs, c.gone_runs_count),
      el('div', { class: 'breakdown' }, el('h3', { text: `new tasks: ${c.new_tasks.length}` }), el('p', { class: 'small', text: c.new_tasks.join(', ') || '–' }), el('h3', { text: `tasks gone: ${c.gone_tasks.length}` }), el('p', { class: 'small', text: c.gone_tasks.join(', ') || '–' })),
    ));
    const pctS = (x) => (x * 100).toFixed(1) + ' %';
    root.append(el('h3', { text: 'rejects per reason, tonight against the previous night' }),
      el('table', { id: 'night-reasons' },
        el('thead', {}, el('tr', {}, el('th', { text: 'stage' }), el('th', { text: 'reason' }), el('th', { class: 'num', text: 'before' }), el('th', { class: 'num', text: 'tonight' }), el('th', { class: 'num', text: 'share before' }), el('th', { class: 'num', text: 'share tonight' }))),
        el('tbody', {}, c.reasons.map((r) => el('tr', {}, el('td', { text: r.stage }), el('td', { text: r.reason }), el('td', { class: 'num', text: fmt(r.previous) }), el('td', { class: 'num', text: fmt(r.tonight) }), el('td', { class: 'num', text: pctS(r.previous_share) }), el('td', { class: 'num', text: pctS(r.tonight_share) })))),
      ));
  })();

  // ---- funnel
  (function funnel() {
    const body = $('#funnel tbody');
    for (const f of data.funnel) {
      const dropped = Object.values(f.dropped).reduce((a, b) => a + b, 0);
      body.append(
        el('tr', { class: 'stage-row', 'data-stage': f.stage },
          el('th', { text: f.stage }),
          el('td', { class: 'num', 'data-field': 'records_in', text: fmt(f.records_in) }),
          el('td', { class: 'num', 'data-field': 'records_out', text: fmt(f.records_out) }),
          el('td', { class: 'num', text: pct(f.records_out, f.records_in) }),
          el('td', { class: 'num', 'data-field': 'dropped', text: fmt(dropped) }),
          el('td', { class: 'num', text: pct(dropped, f.records_in) }),
        ),
      );
      for (const [reason, n] of Object.entries(f.dropped)) {
        body.append(
          el('tr', { class: 'reason-row', 'data-stage': f.stage, 'data-reason': reason },
            el('td', { class: 'reason', colspan: 4 }, el('a', { href: `#reject-${f.stage}-${reason}`, text: reason })),
            el('td', { class: 'num', 'data-field': 'count', text: fmt(n) }),
            el('td', { class: 'num', text: pct(n, f.records_in) }),
          ),
        );
      }
    }
    if (data.funnel.length) api.charts.funnel = barChart($('#funnel-chart'), data.funnel.map((f) => f.stage), data.funnel.map((f) => f.records_out), { label: 'records out' });
  })();

  // ---- rejects
  (function rejects() {
    const root = $('#rejects');
    if (!data.rejects.length) root.append(el('p', { class: 'muted', text: 'No record was dropped.' }));
    for (const r of data.rejects) {
      root.append(
        el('div', { class: 'reject', id: `reject-${r.stage}-${r.reason}` },
          el('h3', {}, el('code', { text: r.reason }), ` at ${r.stage}: ${fmt(r.count)} record(s)`),
          el('ul', {}, r.examples.map((x) => el('li', {}, el('div', { text: x.message }), el('div', { class: 'muted small', text: [x.id && `run ${x.id}`, x.task_id && `task ${x.task_id}`, x.file && `${x.file}${x.record !== null ? ' record ' + x.record : ''}`].filter(Boolean).join(' · ') })))),
          r.count > r.examples.length ? el('p', { class: 'muted small', text: `${fmt(r.count - r.examples.length)} more in ${r.stage}/rejects.jsonl` }) : null,
        ),
      );
    }
  })();

  // ---- breakdowns
  (function breakdowns() {
    const root = $('#breakdowns');
    const titles = { harness: 'per harness', teacher_model: 'per teacher model', outcome: 'per outcome' };
    for (const [key, title] of Object.entries(titles)) {
      const rows = Object.entries(data.breakdowns[key]).sort(([a], [b]) => a.localeCompare(b));
      root.append(
        el('div', { class: 'breakdown' },
          el('h3', { text: title }),
          el('table', { 'data-breakdown': key },
            el('thead', {}, el('tr', {}, el('th', { text: key.replace('_', ' ') }), el('th', { class: 'num', text: 'read' }), el('th', { class: 'num', text: 'kept' }), el('th', { class: 'num', text: 'kept %' }))),
            el('tbody', {}, rows.map(([k, v]) => { const known = data.breakdowns_in_known[key]; return el('tr', {}, el('td', { text: k }), el('td', { class: 'num', text: known ? fmt(v.in) : '–' }), el('td', { class: 'num', text: fmt(v.out) }), el('td', { class: 'num', text: known ? pct(v.out, v.in) : '–' })); })),
          ),
        ),
      );
    }
  })();

  // ---- distributions
  (function distributions() {
    const shapes = Object.entries(data.shapes).sort((a, b) => b[1] - a[1]);
    if (shapes.length) api.charts.shapes = barChart($('#shapes-chart'), shapes.map((s) => s[0]), shapes.map((s) => s[1]), { label: 'runs' });
    else $('#shapes-chart').append(el('p', { class: 'muted', text: 'No labelled run.' }));
    const bins = data.peak_positions.map((_, i) => `${i * 10}–${i * 10 + 10}%`);
    api.charts.peaks = barChart($('#peaks-chart'), bins, data.peak_positions, { label: 'runs' });
  })();

  // ---- teacher
  (function teacher() {
    const t = data.teacher;
    const root = $('#teacher');
    if (!t) return root.append(el('p', { class: 'muted', text: 'The label stage has not run.' }));
    const rows = [
      ['labeler', t.labeler], ['model', t.model ?? '–'], ['prompt version', t.prompt_version ?? '–'],
      ['requests sent', fmt(t.requests)], ['retries', fmt(t.retries)], ['failed requests', fmt(t.failures)], ['cache hits', fmt(t.cache_hits)],
      ['prompt tokens', fmt(t.prompt_tokens)], ['completion tokens', fmt(t.completion_tokens)], ['estimated cost', '$' + t.estimated_cost.toFixed(4)],
    ];
    // label.mode: batch: the batch lines and their price beside the live figures above (the total includes both).
    const b = t.batch;
    if (b) {
      rows.splice(rows.length - 1, 0,
        ['batch lines submitted', fmt(b.requests)], ['batch lines answered', fmt(b.answered)], ['batch lines sent live', fmt(b.failed_lines)],
        ['batch tokens', `${fmt(b.prompt_tokens)} + ${fmt(b.completion_tokens)}`],
        [`batch cost (at ${b.price_factor}× the live price)`, '$' + b.estimated_cost.toFixed(4)], ['batch ids', b.ids.join(', ') || '–'],
      );
    }
    root.append(el('table', { class: 'kv' }, el('tbody', {}, rows.map(([k, v]) => el('tr', { 'data-key': k }, el('th', { text: k }), el('td', { class: 'num', text: v }))))));
  })();

  // ---- the run list
  const state = { page: 0, outcome: '', shape: '', q: '' };
  function filtered() {
    const q = state.q.toLowerCase();
    return data.runs.filter((r) => (!state.outcome || r.outcome === state.outcome) && (!state.shape || r.shape === state.shape) && (!q || r.id.includes(q) || r.task_id.toLowerCase().includes(q)));
  }
  function renderList() {
    const runs = filtered();
    const pages = Math.max(1, Math.ceil(runs.length / data.page_size));
    state.page = Math.min(state.page, pages - 1);
    const slice = runs.slice(state.page * data.page_size, (state.page + 1) * data.page_size);
    const body = $('#runs tbody');
    body.replaceChildren(
      ...slice.map((r) =>
        el('tr', { 'data-run': r.id, class: api.selected === r.id ? 'selected' : '', onclick: () => selectRun(r.id) },
          el('td', {}, el('code', { text: r.id.slice(0, 12) })),
          el('td', { text: r.task_id }),
          el('td', { text: r.harness }),
          el('td', { class: `outcome ${r.outcome}`, text: r.outcome }),
          el('td', { text: r.shape ?? '' }),
          el('td', { class: 'num', text: r.steps }),
          el('td', { class: 'num', text: r.trained_steps.length }),
        ),
      ),
    );
    $('#page-info').textContent = `page ${state.page + 1} of ${pages} · ${fmt(runs.length)} run(s)`;
    $('#prev').disabled = state.page === 0;
    $('#next').disabled = state.page >= pages - 1;
  }
  const shapesSeen = [...new Set(data.runs.map((r) => r.shape).filter(Boolean))].sort();
  for (const s of shapesSeen) $('#f-shape').append(el('option', { value: s, text: s }));
  $('#f-outcome').addEventListener('change', (e) => { state.outcome = e.target.value; state.page = 0; renderList(); });
  $('#f-shape').addEventListener('change', (e) => { state.shape = e.target.value; state.page = 0; renderList(); });
  $('#f-q').addEventListener('input', (e) => { state.q = e.target.value.trim(); state.page = 0; renderList(); });
  $('#prev').addEventListener('click', () => { state.page--; renderList(); });
  $('#next').addEventListener('click', () => { state.page++; renderList(); });

  /** The value curve with the peak, the critical mistake, the trained span (band) and the cut (dashed line). */
  function curveChart(target, r) {
    const n = r.values.length;
    const xs = r.values.map((_, i) => i);
    const only = (step) => xs.map((i) => (i === step ? r.values[i] : null));
    const first = r.trained_steps.length ? Math.min(...r.trained_steps) : null;
    const last = r.trained_steps.length ? Math.max(...r.trained_steps) : null;
    const marks = { peak: r.peak_step, critical: r.critical_step, trainedFirst: first, trainedLast: last, cut: last === null ? null : last + 0.5 };
    const series = [
      { label: 'step' },
      { label: 'value', stroke: COLORS.value, width: 2, points: { show: true, size: 5 } },
    ];
    const columns = [xs, r.values];
    if (r.smoothed && r.smoothed.some((v, i) => v !== r.values[i])) {
      series.push({ label: 'smoothed', stroke: COLORS.smoothed, width: 1.5, dash: [4, 3], points: { show: false } });
      columns.push(r.smoothed);
    }
    const pointSeries = (label, color) => ({ label, stroke: color, fill: color, width: 0, paths: () => null, points: { show: true, size: 12, stroke: color, fill: color } });
    series.push(pointSeries('peak', COLORS.peak));
    columns.push(only(r.peak_step));
    series.push(pointSeries('critical mistake', COLORS.critical));
    columns.push(only(r.critical_step));
    const band = {
      hooks: {
        drawClear: [
          (u) => {
            if (first === null) return;
            const ctx = u.ctx;
            const x0 = u.valToPos(first - 0.5, 'x', true), x1 = u.valToPos(last + 0.5, 'x', true);
            ctx.save();
            ctx.fillStyle = COLORS.span;
            ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
            ctx.restore();
          },
        ],
        draw: [
          (u) => {
            if (marks.cut === null || r.outcome === 'resolved') return;
            const ctx = u.ctx, x = u.valToPos(marks.cut, 'x', true);
            ctx.save();
            ctx.strokeStyle = COLORS.cut;
            ctx.setLineDash([6, 4]);
            ctx.lineWidth = 1.5 * devicePixelRatio;
            ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
            ctx.restore();
          },
        ],
      },
    };
    const u = new uPlot(
      {
        width: Math.max(360, Math.min(720, target.clientWidth || 640)),
        height: 240,
        plugins: [band],
        scales: { x: { time: false, range: [-0.5, Math.max(0.5, n - 0.5)] }, y: { range: [0, 1] } },
        axes: [{ label: 'step', splits: () => xs.filter((i) => n <= 30 || i % Math.ceil(n / 30) === 0) }, { label: 'P(success)', size: 50 }],
        series,
      },
      columns,
      target,
    );
    target.dataset.peakStep = marks.peak ?? '';
    target.dataset.criticalStep = marks.critical ?? '';
    target.dataset.trainedFirst = first ?? '';
    target.dataset.trainedLast = last ?? '';
    target.dataset.cutAfterStep = last ?? '';
    u.trajpipeMarks = marks;
    return u;
  }

  function messageView(m, i) {
    const cls = ['msg', m.role, m.trained === true ? 'trained' : m.trained === false ? 'untrained' : '', m.cut ? 'cut' : ''].join(' ');
    const tag = m.role === 'assistant' ? `step ${m.step ?? '?'} · ${m.trained ? 'trained' : 'not trained'}` : m.role;
    const head = el('div', { class: 'msg-head' }, el('span', { text: `#${i} ${tag}` }), m.cut ? el('span', { class: 'badge', text: 'not exported' }) : null, m.chars > m.text.length ? el('span', { class: 'muted small', text: ` ${fmt(m.chars)} chars, shortened` }) : null);
    const body = el('pre', { text: m.text });
    const folds = (m.role === 'tool' || m.role === 'user') && m.text.length > data.fold_chars;
    if (folds) return el('div', { class: cls, 'data-message': i }, head, el('details', {}, el('summary', { text: m.text.split('\n')[0].slice(0, 120) + ' …' }), body));
    return el('div', { class: cls, 'data-message': i }, head, body);
  }

  function selectRun(id) {
    const r = data.runs.find((x) => x.id === id);
    if (!r) return false;
    api.selected = id;
    for (const tr of document.querySelectorAll('#runs tbody tr')) tr.classList.toggle('selected', tr.dataset.run === id);
    if (api.charts.curve) { api.charts.curve.destroy(); delete api.charts.curve; }
    const root = $('#detail');
    const facts = [
      ['run', r.id], ['task', r.task_id], ['harness', r.harness], ['teacher model', r.teacher_model ?? '–'], ['outcome', r.outcome], ['file', r.file],
      ['labeler', r.labeler ?? '–'], ['curve shape', r.shape ?? '–'],
      ['peak', r.peak_step === null ? '–' : `step ${r.peak_step} (${r.peak_value?.toFixed(3)})`],
      ['critical mistake', r.critical_step === null ? '–' : `step ${r.critical_step} (fall ${r.critical_drop?.toFixed(3)})`],
      ['trained steps', r.trained_steps.length ? `${Math.min(...r.trained_steps)}–${Math.max(...r.trained_steps)} (${r.trained_steps.length})` : 'none'],
      ['trained messages', r.train_start === null ? '–' : `${r.train_start}–${r.train_end}`],
      ['cut', r.cut_after === null ? 'every message kept' : `messages after #${r.cut_after} not exported`],
    ];
    if (r.note) facts.push(['note', r.note]);
    const chart = el('div', { id: 'curve', class: 'chart' });
    root.replaceChildren(
      el('h2', { text: `Run ${r.id}` }),
      el('table', { class: 'kv' }, el('tbody', {}, facts.map(([k, v]) => el('tr', {}, el('th', { text: k }), el('td', { text: v }))))),
      r.values ? chart : el('p', { class: 'muted', text: r.outcome === 'resolved' ? 'Resolved: trained whole, no curve.' : 'No curve.' }),
      r.values ? el('p', { class: 'legend small' }, el('span', { class: 'key peak' }, '● peak'), el('span', { class: 'key critical' }, '● critical mistake'), el('span', { class: 'key span' }, '▮ trained span'), el('span', { class: 'key cut' }, '┆ cut')) : null,
      el('h3', { text: 'Messages' }),
      r.messages ? el('div', { class: 'messages' }, r.messages.map(messageView)) : el('p', { class: 'muted', text: `Messages not embedded (the page carries them for its first runs only: report.max_runs_with_messages, report.max_message_chars); see them with: trajpipe inspect RUN_DIR ${r.id}` }),
    );
    if (r.values) api.charts.curve = curveChart(chart, r);
    if (location.hash !== '#run-' + id) history.replaceState(null, '', '#run-' + id);
    return true;
  }

  window.addEventListener('hashchange', () => {
    const m = /^#run-([0-9a-f]+)$/.exec(location.hash);
    if (m && selectRun(m[1])) $('#s-runs').scrollIntoView();
  });
  renderList();
  const fromHash = /^#run-([0-9a-f]+)$/.exec(location.hash);
  const initial = (fromHash && data.runs.find((r) => r.id === fromHash[1])) || data.runs.find((r) => r.values) || data.runs[0];
  if (initial) selectRun(initial.id);
  document.body.dataset.ready = 'true';
})();

// reports.js - the reports of GET /v1/reports/KIND (spec/reports.md), each
// kind chosen in a list and drawn with Chart.js as the node's SVG charts
// are (spec/reports.md "Charts": count, won, requests, days to close per
// group; attribution as stacked sourced and influenced counts; win-rate
// as a line), its table and CSV with the node's columns (keys, then the
// measures flattened: nested as a_b, money as one column per currency,
// cycle-time stages as "reached STAGE", "days_to STAGE"), a PNG of the
// chart; grouped by any column (by=), and the saved views of the node
// (GET /v1/views): open one, save the report shown as one (PUT
// /v1/views/NAME, for users with the configure right). While private
// fields are hidden a report and a view run with hide_private=1. In the
// table (not the CSV, which is the node's), a partner key that names a
// connected node shows its name, the org id as its title.
import {useEffect, useRef, useState} from 'preact/hooks';
import {Chart, BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend,
  LineController, LineElement, PointElement} from 'chart.js';
import {html} from './html.js';
import {api, query, hidePrivate} from './api.js';
import {useEvents} from './events.js';
import {downloadCsv} from './csv.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend,
  LineController, LineElement, PointElement);

// kind: [title, default by, what the chart shows, the measure drawn]
export const KINDS = {
  'pipeline': ['Pipeline', 'stage', 'Objects', (g) => g.count],
  'attribution': ['Attribution', '', 'Sourced and influenced', null],
  'win-rate': ['Win rate', 'partner,quarter', 'Win rate', (g) => (g.win_rate === null ? null : Number(g.win_rate))],
  'deal-size': ['Deal size', 'partner,quarter', 'Won deals', (g) => g.won],
  'cycle-time': ['Cycle time', 'partnered', 'Days to close', (g) => (g.avg_days_to_close === null ? null : Number(g.avg_days_to_close))],
  'mdf': ['MDF', 'program,partner', 'MDF requests', (g) => g.requests],
  'plan': ['Plans', 'plan', 'Won opportunities', (g) => g.won],
};
// mdf and plan take by and hide_private only (plan: amount too)
const typed = (kind) => kind !== 'mdf' && kind !== 'plan';

// The measures of a group as [column, cell] in the node's CSV order.
function flatten(out, prefix, v) {
  for (const [k, x] of Object.entries(v)) {
    if (k === 'key') continue;
    const name = prefix ? `${prefix}_${k}` : k;
    if (Array.isArray(x)) {
      for (const e of x) {
        if (e && typeof e.stage === 'string') {
          out.push([`reached ${e.stage}`, e.reached], [`days_to ${e.stage}`, e.avg_days]);
        } else if (e && typeof e.currency === 'string') {
          out.push([`${name} ${e.currency}`, e.amount]);
        }
      }
    } else if (x !== null && typeof x === 'object') {
      flatten(out, name, x);
    } else {
      out.push([name, x]);
    }
  }
  return out;
}

// {keys, measures, rows: [[cells]], total: [cells]} of a report document
export function tableOf(report) {
  const keys = keysOf(report);
  const groups = report.groups.map((g) => ({key: g.key, cells: new Map(flatten([], '', g))}));
  const total = new Map(flatten([], '', report.total || {}));
  // the columns: in order of first appearance, those of one measure
  // together (a currency seen only in a later group joins its measure)
  const measures = [];
  const add = (col) => {
    if (measures.includes(col)) return;
    const sp = col.lastIndexOf(' ');
    const stem = sp > 0 && /^[A-Z]{3}$/.test(col.slice(sp + 1)) ? col.slice(0, sp + 1) : null;
    let at = measures.length;
    if (stem) {
      const same = measures.map((m, i) => (m.startsWith(stem) && /^[A-Z]{3}$/.test(m.slice(stem.length)) ? i : -1)).filter((i) => i >= 0);
      if (same.length) {
        at = same[same.length - 1] + 1;
        for (const i of same) if (measures[i] > col) { at = i; break; }
      }
    }
    measures.splice(at, 0, col);
  };
  for (const g of groups) for (const c of g.cells.keys()) add(c);
  for (const c of total.keys()) add(c);
  const keyCols = groups.length ? Object.keys(groups[0].key) : keys;
  return {
    keys: keyCols,
    measures,
    rows: groups.map((g) => keyCols.map((k) => g.key[k]).concat(measures.map((m) => g.cells.get(m)))),
    total: keyCols.map((k, i) => (i === 0 ? 'total' : null)).concat(measures.map((m) => total.get(m))),
  };
}

// the key columns of a report (attribution: the partner first, always)
const keysOf = (report) => (report.report === 'attribution' && report.by[0] !== 'partner'
  ? ['partner'].concat(report.by) : report.by);

const label = (g) => Object.values(g.key).map((v) => (v === null ? '-' : v)).join(' / ') || 'All';

export function Reports({type}) {
  const tick = useEvents();
  const canvas = useRef(null);
  const chart = useRef(null);
  const [report, setReport] = useState(null);
  const [error, setError] = useState('');
  const [kind, setKind] = useState('pipeline');
  const [by, setBy] = useState('stage');
  const [byText, setByText] = useState('stage');
  const [views, setViews] = useState([]);
  const [view, setView] = useState('');
  const [saveAs, setSaveAs] = useState('');
  const [saved, setSaved] = useState('');
  const [peers, setPeers] = useState({}); // org id -> name, for partner keys
  useEffect(() => {
    api('GET', '/v1/peers').then((ps) => setPeers(Object.fromEntries(ps.map((p) => [p.org, p.name]))), () => {});
  }, []);
  const loadViews = () => api('GET', '/v1/views').then(setViews, () => setViews([]));
  useEffect(() => {
    loadViews();
  }, []);
  const params = () => (typed(kind) ? {type, by} : {by});
  useEffect(() => {
    setError('');
    const run = async () => {
      if (!view) return api('GET', `/v1/reports/${kind}${query(params(), true)}`);
      if (!hidePrivate()) return api('GET', `/v1/views/${view}/run`);
      const v = await api('GET', `/v1/views/${view}`);
      return api('GET', `/v1/reports/${v.report}${query({...v.params, hide_private: undefined}, true)}`);
    };
    run().then(setReport, (e) => {
      setReport(null);
      setError(e.message);
    });
  }, [type, tick, kind, by, view]);
  const choose = (k) => {
    setReport(null);
    setKind(k);
    setBy(KINDS[k][1]);
    setByText(KINDS[k][1]);
  };
  const save = async (e) => {
    e.preventDefault();
    setError('');
    setSaved('');
    try {
      await api('PUT', `/v1/views/${saveAs}`, {report: kind, params: params()});
      setSaved(`Saved as view ${saveAs}`);
      setSaveAs('');
      await loadViews();
    } catch (err) {
      setError(err.message);
    }
  };
  const shown = report && KINDS[report.report] ? report.report : kind;
  useEffect(() => {
    if (!report || !canvas.current || !KINDS[report.report]) return;
    const groups = report.groups.slice(0, 200);
    const labels = groups.map(label);
    const k = report.report;
    const datasets = k === 'attribution'
      ? [{label: 'Sourced', data: groups.map((g) => g.sourced.count), backgroundColor: '#2f6fb3'},
        {label: 'Influenced', data: groups.map((g) => g.influenced.count), backgroundColor: '#b36b2f'}]
      : [{label: KINDS[k][2], data: groups.map(KINDS[k][3]), backgroundColor: '#2f6fb3', borderColor: '#2f6fb3'}];
    const stacked = k === 'attribution';
    if (chart.current) chart.current.destroy();
    chart.current = new Chart(canvas.current, {
      type: k === 'win-rate' ? 'line' : 'bar',
      data: {labels, datasets},
      options: {animation: false, responsive: true,
        plugins: {legend: {display: stacked}},
        scales: {x: {stacked}, y: {stacked, beginAtZero: true, max: k === 'win-rate' ? 1 : undefined,
          ticks: {precision: k === 'win-rate' || k === 'cycle-time' ? undefined : 0}}}},
    });
    return () => chart.current && chart.current.destroy();
  }, [report]);
  const t = report ? tableOf(report) : null;
  const name = () => view || `${report.report}${typed(report.report) ? '-' + report.type : ''}`;
  const csv = () => downloadCsv(`${name()}.csv`, [t.keys.concat(t.measures)].concat(t.rows).concat([t.total]));
  const png = () => {
    const a = document.createElement('a');
    a.href = canvas.current.toDataURL('image/png');
    a.download = `${name()}.png`;
    a.click();
  };
  const what = KINDS[shown][2];
  const per = report ? keysOf(report).join(', ') || 'all' : by || 'group';
  const cell = (v) => (v === null || v === undefined ? '' : String(v));
  return html`<main>
    <h1>${view ? `View ${view}` : `${KINDS[kind][0]} report${typed(kind) ? `: ${type}` : ''}`}</h1>
    <div class="filters">
      <label>Saved view <select value=${view} onChange=${(e) => setView(e.target.value)}>
        <option value="">(none: the report chosen)</option>
        ${views.map((v) => html`<option value=${v.name}>${v.name} (${v.report})</option>`)}</select></label>
      ${!view && html`<label>Report <select value=${kind} onChange=${(e) => choose(e.target.value)}>
        ${Object.entries(KINDS).map(([k, d]) => html`<option value=${k}>${d[0]}</option>`)}</select></label>`}
      ${!view && html`<form class="inline" onSubmit=${(e) => { e.preventDefault(); setBy(byText); }}>
        <label>Group by <input value=${byText} onInput=${(e) => setByText(e.target.value)} /></label>
        <button type="submit">Show</button></form>`}
      ${!view && html`<form class="inline" onSubmit=${save}>
        <label>View name <input value=${saveAs} required
          onInput=${(e) => setSaveAs(e.target.value)} /></label>
        <button type="submit">Save as view</button></form>`}
    </div>
    ${saved && html`<p role="status">${saved}</p>`}
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <figure class="chart"><canvas ref=${canvas} role="img" aria-label=${`${what} per ${per}`}></canvas>
      <figcaption>${report ? `${report.objects !== undefined ? report.objects + ' objects' : report.groups.length + ' groups'}${report.complete === false ? ' (figures may be partial)' : ''}` : 'Loading…'}</figcaption></figure>
    <button type="button" onClick=${png} disabled=${!report}>Download PNG</button>
    <button type="button" onClick=${csv} disabled=${!report}>Download CSV</button>
    ${t && html`<div class="scroll" role="region" aria-label="Report table" tabindex="0"><table class="list"><thead><tr>
      ${t.keys.concat(t.measures).map((c) => html`<th scope="col">${c}</th>`)}</tr></thead><tbody>
      ${t.rows.map((r) => html`<tr>${r.map((v, i) => html`<td>${i >= t.keys.length ? cell(v) : v === null ? '-'
        : t.keys[i] === 'partner' && peers[v] ? html`<abbr title=${v}>${peers[v]}</abbr>` : cell(v)}</td>`)}</tr>`)}
      <tr>${t.total.map((v) => html`<td>${cell(v)}</td>`)}</tr>
    </tbody></table></div>`}
  </main>`;
}

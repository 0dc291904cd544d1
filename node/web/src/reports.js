// reports.js - a report of GET /v1/reports/KIND drawn with Chart.js (the
// objects per group as bars), its table, a PNG of the chart and a CSV of
// the groups; grouped by any column (by=), and the saved views of the
// node (GET /v1/views): open one, save the report shown as one (PUT
// /v1/views/NAME, for users with the configure right). While private
// fields are hidden a view runs as its report with hide_private=1.
import {useEffect, useRef, useState} from 'preact/hooks';
import {Chart, BarController, BarElement, CategoryScale, LinearScale, Tooltip} from 'chart.js';
import {html} from './html.js';
import {api, query, hidePrivate} from './api.js';
import {useEvents} from './events.js';
import {downloadCsv} from './csv.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export function Reports({type}) {
  const tick = useEvents();
  const canvas = useRef(null);
  const chart = useRef(null);
  const [report, setReport] = useState(null);
  const [error, setError] = useState('');
  const [by, setBy] = useState('stage');
  const [byText, setByText] = useState('stage');
  const [views, setViews] = useState([]);
  const [view, setView] = useState('');
  const [saveAs, setSaveAs] = useState('');
  const [saved, setSaved] = useState('');
  const loadViews = () => api('GET', '/v1/views').then(setViews, () => setViews([]));
  useEffect(() => {
    loadViews();
  }, []);
  useEffect(() => {
    setError('');
    const run = async () => {
      if (!view) return api('GET', `/v1/reports/pipeline${query({type, by}, true)}`);
      if (!hidePrivate()) return api('GET', `/v1/views/${view}/run`);
      const v = await api('GET', `/v1/views/${view}`);
      return api('GET', `/v1/reports/${v.report}${query({...v.params, hide_private: undefined}, true)}`);
    };
    run().then(setReport, (e) => {
      setReport(null);
      setError(e.message);
    });
  }, [type, tick, by, view]);
  const save = async (e) => {
    e.preventDefault();
    setError('');
    setSaved('');
    try {
      await api('PUT', `/v1/views/${saveAs}`, {report: 'pipeline', params: {type, by}});
      setSaved(`Saved as view ${saveAs}`);
      setSaveAs('');
      await loadViews();
    } catch (err) {
      setError(err.message);
    }
  };
  useEffect(() => {
    if (!report || !canvas.current) return;
    const labels = report.groups.map((g) => Object.values(g.key).join(' / ') || '(none)');
    const data = report.groups.map((g) => g.count);
    if (chart.current) chart.current.destroy();
    chart.current = new Chart(canvas.current, {
      type: 'bar',
      data: {labels, datasets: [{label: 'Objects', data, backgroundColor: '#2f6fb3'}]},
      options: {animation: false, responsive: true, scales: {y: {beginAtZero: true, ticks: {precision: 0}}}},
    });
    return () => chart.current && chart.current.destroy();
  }, [report]);
  const csv = () => {
    // the key columns (as in by), then the count, then the total
    const keys = report.groups.length ? Object.keys(report.groups[0].key) : ['stage'];
    downloadCsv(`${view || 'pipeline-' + type}.csv`, [keys.concat(['count'])]
      .concat(report.groups.map((g) => keys.map((k) => g.key[k]).concat([g.count])))
      .concat([keys.map((k, i) => (i === 0 ? 'total' : '')).concat([report.total.count])]));
  };
  const png = () => {
    const a = document.createElement('a');
    a.href = canvas.current.toDataURL('image/png');
    a.download = `${view || 'pipeline-' + type}.png`;
    a.click();
  };
  return html`<main>
    <h1>${view ? `View ${view}` : `Pipeline report: ${type}`}</h1>
    <div class="filters">
      <label>Saved view <select value=${view} onChange=${(e) => setView(e.target.value)}>
        <option value="">(none: the pipeline report)</option>
        ${views.map((v) => html`<option value=${v.name}>${v.name} (${v.report})</option>`)}</select></label>
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
    <figure class="chart"><canvas ref=${canvas} role="img" aria-label=${`Objects per ${view ? 'group' : by}`}></canvas>
      <figcaption>${report ? `${report.objects} objects` : 'Loading…'}</figcaption></figure>
    <button type="button" onClick=${png} disabled=${!report}>Download PNG</button>
    <button type="button" onClick=${csv} disabled=${!report}>Download CSV</button>
    ${report && html`<table><thead><tr><th scope="col">${report.by.join(' / ') || 'All'}</th><th scope="col">Objects</th></tr></thead><tbody>
      ${report.groups.map((g) => html`<tr><td>${Object.values(g.key).join(' / ')}</td><td>${g.count}</td></tr>`)}
    </tbody></table>`}
  </main>`;
}

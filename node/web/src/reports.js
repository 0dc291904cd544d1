// reports.js - a report of GET /v1/reports/KIND drawn with Chart.js (the
// objects per group as bars), its table, a PNG of the chart and a CSV of
// the groups.
import {useEffect, useRef, useState} from 'preact/hooks';
import {Chart, BarController, BarElement, CategoryScale, LinearScale, Tooltip} from 'chart.js';
import {html} from './html.js';
import {api, query} from './api.js';
import {useEvents} from './events.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export function Reports({type}) {
  const tick = useEvents();
  const canvas = useRef(null);
  const chart = useRef(null);
  const [report, setReport] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api('GET', `/v1/reports/pipeline${query({type, by: 'stage'}, true)}`)
      .then(setReport, (e) => setError(e.message));
  }, [type, tick]);
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
    // RFC 4180: the key columns (as in by), then the count, then the total
    const cell = (v) => {
      const t = v === null || v === undefined ? '' : String(v);
      return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
    };
    const keys = report.groups.length ? Object.keys(report.groups[0].key) : ['stage'];
    const lines = [keys.concat(['count']).map(cell).join(',')]
      .concat(report.groups.map((g) => keys.map((k) => cell(g.key[k])).concat([g.count]).join(',')))
      .concat([keys.map((k, i) => (i === 0 ? 'total' : '')).concat([report.total.count]).join(',')]);
    const url = URL.createObjectURL(new Blob([lines.join('\r\n') + '\r\n'], {type: 'text/csv'}));
    const a = document.createElement('a');
    a.href = url;
    a.download = `pipeline-${type}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  const png = () => {
    const a = document.createElement('a');
    a.href = canvas.current.toDataURL('image/png');
    a.download = `pipeline-${type}.png`;
    a.click();
  };
  return html`<main>
    <h1>Pipeline report: ${type}</h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <figure class="chart"><canvas ref=${canvas} role="img" aria-label="Objects per stage"></canvas>
      <figcaption>${report ? `${report.objects} objects` : 'Loading…'}</figcaption></figure>
    <button type="button" onClick=${png} disabled=${!report}>Download PNG</button>
    <button type="button" onClick=${csv} disabled=${!report}>Download CSV</button>
    ${report && html`<table><thead><tr><th scope="col">Stage</th><th scope="col">Objects</th></tr></thead><tbody>
      ${report.groups.map((g) => html`<tr><td>${Object.values(g.key).join(' / ')}</td><td>${g.count}</td></tr>`)}
    </tbody></table>`}
  </main>`;
}

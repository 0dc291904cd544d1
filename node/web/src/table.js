// table.js - the objects of a type as a table: filter by stage (the
// node filters) and by text in the name, sort by a column (the node
// sorts), and download what is shown as CSV (RFC 4180). The filters and
// the sort are kept in the page's address (/table?stage=&q=&sort=), so a
// reload, a bookmark or a copied address opens the same table.
import {useEffect, useState} from 'preact/hooks';
import {html} from './html.js';
import {api, query} from './api.js';
import {useEvents} from './events.js';
import {downloadCsv} from './csv.js';

const COLUMNS = [['title', 'Name'], ['stage', 'Stage'], ['date', 'Close date']];

const SORTS = new Set(COLUMNS.flatMap(([k]) => [k, `-${k}`]));

export function Table({type, go}) {
  const tick = useEvents();
  const [init] = useState(() => new URLSearchParams(location.search));
  const [stages, setStages] = useState([]);
  const [rows, setRows] = useState([]);
  const [stage, setStage] = useState(init.get('stage') || '');
  const [text, setText] = useState(init.get('q') || '');
  const [sort, setSort] = useState(SORTS.has(init.get('sort')) ? init.get('sort') : 'title');
  useEffect(() => {
    const q = new URLSearchParams();
    if (stage) q.set('stage', stage);
    if (text) q.set('q', text);
    if (sort !== 'title') q.set('sort', sort);
    const s = q.toString();
    history.replaceState(null, '', `/table${s ? `?${s}` : ''}`);
  }, [stage, text, sort]);
  const [error, setError] = useState('');
  useEffect(() => {
    api('GET', `/v1/templates/${type}`).then((t) => setStages(t.stages || []), () => {});
  }, [type]);
  useEffect(() => {
    api('GET', `/v1/objects${query({type, stage, sort, limit: 1000})}`)
      .then((r) => setRows(r.filter((x) => x.status === 'active')), (e) => setError(e.message));
  }, [type, stage, sort, tick]);
  const shown = rows.filter((r) => !text || (r.title || '').toLowerCase().includes(text.toLowerCase()));
  const download = () => downloadCsv(`${type}.csv`, [COLUMNS.map(([, label]) => label)]
    .concat(shown.map((r) => COLUMNS.map(([k]) => r[k]))));
  const sortButton = (k, label) => {
    const dir = sort === k ? 'ascending' : sort === `-${k}` ? 'descending' : 'none';
    return html`<th scope="col" aria-sort=${dir}><button type="button" class="sort"
      onClick=${() => setSort(sort === k ? `-${k}` : k)}>${label}</button></th>`;
  };
  return html`<main>
    <h1>Table: ${type}</h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <div class="filters">
      <label>Stage <select value=${stage} onChange=${(e) => setStage(e.target.value)}>
        <option value="">Any</option>
        ${stages.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>Name contains <input value=${text} onInput=${(e) => setText(e.target.value)} /></label>
      <button type="button" onClick=${download}>Download CSV</button>
    </div>
    <table class="list"><thead><tr>${COLUMNS.map(([k, label]) => sortButton(k, label))}</tr></thead>
      <tbody>${shown.map((r) => html`<tr>
        <td><a href="/objects/${r.id}" onClick=${(e) => { e.preventDefault(); go(`/objects/${r.id}`); }}>${r.title || r.id.slice(0, 12)}</a></td>
        <td>${r.stage || ''}</td><td>${r.date || ''}</td></tr>`)}</tbody></table>
    <p role="status">${shown.length} of ${rows.length} shown</p>
  </main>`;
}

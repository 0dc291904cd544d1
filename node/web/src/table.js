// table.js - the objects of a type as a table: filter by stage (the
// node filters) and by text in the name, sort by a column (the node
// sorts), and download what is shown as CSV (RFC 4180). The filters and
// the sort are kept in the page's address (/table?stage=&q=&sort=), so a
// reload, a bookmark or a copied address opens the same table. Named
// table views are kept on the node in the configuration table
// `table_views`, one value `NAME ?QUERY` each (spec/web.md §2): choosing
// one sets the filters and the sort it holds.
import {useEffect, useState} from 'preact/hooks';
import {html} from './html.js';
import {api, query} from './api.js';
import {useEvents} from './events.js';
import {downloadCsv} from './csv.js';

const COLUMNS = [['title', 'Name'], ['stage', 'Stage'], ['date', 'Close date']];

const SORTS = new Set(COLUMNS.flatMap(([k]) => [k, `-${k}`]));

const VIEWS = 'table_views';
// the version of an empty list (spec/api.md "Configuration"): the first
// 16 bytes of BLAKE2b-256 of no bytes
const EMPTY = '0e5751c026e543b2e8ab2eb06099daa1';
const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
// [[name, query]] of the stored values, those that do not parse left out
const parseViews = (values) => (values || []).map((v) => [v.slice(0, v.indexOf(' ')), v.slice(v.indexOf(' ') + 1)])
  .filter(([n, q]) => NAME.test(n) && (q === '' || q.startsWith('?')));

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
  const [views, setViews] = useState([]);
  const [chosen, setChosen] = useState('');
  const [saveAs, setSaveAs] = useState('');
  const [saved, setSaved] = useState('');
  // a table not stored yet is the empty list, whose version is EMPTY
  const readViews = () =>
    api('GET', `/v1/config/${VIEWS}`).catch((e) => (e.status === 404 ? {values: [], version: EMPTY} : {values: []}));
  const loadViews = () => readViews().then((t) => parseViews(t.values));
  useEffect(() => {
    loadViews().then(setViews);
  }, []);
  const apply = (name) => {
    setChosen(name);
    const v = views.find(([n]) => n === name);
    if (!v) return;
    const q = new URLSearchParams(v[1]);
    setStage(q.get('stage') || '');
    setText(q.get('q') || '');
    setSort(SORTS.has(q.get('sort')) ? q.get('sort') : 'title');
  };
  // stores the list with NAME set to the address shown (or left out)
  const store = async (name, keep) => {
    setError('');
    setSaved('');
    try {
      if (!NAME.test(name)) throw new Error('a view name is a lower-case letter, then up to 63 of a-z 0-9 _ -');
      const value = `${name} ${location.search}`;
      if (keep && new TextEncoder().encode(value).length > 256) throw new Error('this view is too long to keep (256 bytes)');
      // the list is written whole, over the version read: when another
      // save came between (409), read it again and redo the change over it
      for (let tries = 1; ; tries++) {
        const t = await readViews();
        const rest = parseViews(t.values).filter(([n]) => n !== name).map(([n, q]) => `${n} ${q}`);
        const values = keep ? rest.concat([value]) : rest;
        // the node refuses an empty list: no view left is the one value '-'
        const body = {values: values.length ? values : ['-']};
        if (t.version) body.if_version = t.version;
        try {
          await api('PUT', `/v1/config/${VIEWS}`, body);
          break;
        } catch (e) {
          if (e.status !== 409 || tries >= 3) throw e;
        }
      }
      setViews(await loadViews());
      setChosen(keep ? name : '');
      setSaved(keep ? `Saved table view ${name}` : `Removed table view ${name}`);
      setSaveAs('');
    } catch (e) {
      setError(e.message);
    }
  };
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
    <div class="filters">
      <label>Saved table view <select value=${chosen} onChange=${(e) => apply(e.target.value)}>
        <option value="">(none)</option>
        ${views.map(([n]) => html`<option value=${n}>${n}</option>`)}</select></label>
      ${chosen && html`<button type="button" onClick=${() => store(chosen, false)}>Remove table view</button>`}
      <form class="inline" onSubmit=${(e) => { e.preventDefault(); store(saveAs, true); }}>
        <label>Table view name <input value=${saveAs} required onInput=${(e) => setSaveAs(e.target.value)} /></label>
        <button type="submit">Save table view</button></form>
    </div>
    ${saved && html`<p role="status">${saved}</p>`}
    <table class="list"><thead><tr>${COLUMNS.map(([k, label]) => sortButton(k, label))}</tr></thead>
      <tbody>${shown.map((r) => html`<tr>
        <td><a href="/objects/${r.id}" onClick=${(e) => { e.preventDefault(); go(`/objects/${r.id}`); }}>${r.title || r.id.slice(0, 12)}</a></td>
        <td>${r.stage || ''}</td><td>${r.date || ''}</td></tr>`)}</tbody></table>
    <p role="status">${shown.length} of ${rows.length} shown</p>
  </main>`;
}

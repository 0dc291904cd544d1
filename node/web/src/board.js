// board.js - the pipeline board: one column per stage of the type's
// template, a card per object (name, partner initials, amount unless
// private fields are hidden, close date). Dragging a card to another
// column, or its "next stage" button, asks POST /v1/objects/ID/stage; a
// refusal shows the node's reason. A form creates an object.
import {useEffect, useMemo, useState} from 'preact/hooks';
import {html, Lock} from './html.js';
import {api, query, show, initials, hidePrivate} from './api.js';
import {useEvents, lastEventObject} from './events.js';

const AMOUNT = 'deal_size';
const DETAILS = 80; // under the API's burst of 2 × --api-rate (100)
const FIRST_PAGE = 500; // small: the board shows at once
const PAGE = 10000; // large: for a user whom policies filter, a page costs the rows after its cursor
const MAX_CARDS = 20000;
const SHOW = 50;

export function Board({type, org, go, readOnly}) {
  const tick = useEvents();
  const [stages, setStages] = useState([]);
  const [cards, setCards] = useState([]);
  const [error, setError] = useState('');
  const [name, setName] = useState('');
  const [amount, setAmount] = useState('');

  // The list comes in pages (the API's cursor, after=ID): a small first
  // one, then PAGE rows at a time, at most MAX_CARDS; a column renders its
  // first SHOW cards and more on request, so a board of 10,000 stays quick. Each card's details
  // (partners, amount) cost one request: asked once, for at most DETAILS
  // of the cards shown (the API's request rate), and again only for the
  // object an event names. Events close together cause one load.
  const [details] = useState(() => new Map());
  const [shown, setShown] = useState({});
  const [, setDetailsTick] = useState(0);
  const [listed, setListed] = useState(false);
  const load = async (changed) => {
    // the template and the first page at once
    const tpl = stages.length === 0 ? api('GET', `/v1/templates/${type}`) : null;
    let rows = [];
    for (let after = null; rows.length < MAX_CARDS;) {
      const limit = after === null ? FIRST_PAGE : PAGE;
      const page = await api('GET', `/v1/objects${query({type, limit, after})}`);
      if (tpl) setStages((await tpl).stages || []);
      rows = rows.concat(page.filter((r) => r.status === 'active'));
      if (page.length < limit) break;
      if (after === null) setCards(rows); // the first page shows at once
      after = page[page.length - 1].id;
    }
    if (changed) details.delete(changed);
    setCards(rows);
    setListed(true);
  };
  useEffect(() => {
    const t = setTimeout(() => load(lastEventObject()).catch((e) => setError(e.message)), tick ? 100 : 0);
    return () => clearTimeout(t);
  }, [type, tick]);

  const columns = useMemo(() => {
    const by = new Map(stages.map((s) => [s, []]));
    for (const r of cards) {
      const col = by.get(r.stage || stages[0]);
      if (col) col.push(r);
    }
    return by;
  }, [cards, stages]);
  const limitOf = (s) => shown[s] || SHOW;
  useEffect(() => {
    if (!listed) return; // the list's pages first: the node answers in turn
    const visible = [];
    for (const [s, rows] of columns) visible.push(...rows.slice(0, limitOf(s)));
    const want = visible.filter((r) => !details.has(r.id)).slice(0, Math.max(0, DETAILS - details.size));
    if (want.length === 0) return;
    Promise.all(want.map((r) => api('GET', `/v1/objects/${r.id}${query({}, true)}`)
      .then((o) => details.set(r.id, o), () => details.set(r.id, null))))
      .then(() => setDetailsTick((n) => n + 1));
  }, [columns, shown, listed]);

  const move = async (id, stage) => {
    setError('');
    try {
      await api('POST', `/v1/objects/${id}/stage`, {stage});
      await load(id);
    } catch (e) {
      setError(`Cannot move to ${stage}: ${e.message}`);
    }
  };
  const create = async (e) => {
    e.preventDefault();
    setError('');
    try {
      const body = {type, set: {name}};
      if (amount) body.private = {[AMOUNT]: amount};
      const r = await api('POST', '/v1/objects', body);
      setName('');
      setAmount('');
      go(`/objects/${r.id}`);
    } catch (err) {
      setError(err.message);
    }
  };

  const partners = (o) => (o ? o.members.filter((m) => m.org !== org && m.status === 'active') : []);
  return html`<main>
    <h1>Pipeline: ${type}</h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <form class="create" onSubmit=${create} aria-label="New ${type}">
      <label>Name <input value=${name} onInput=${(e) => setName(e.target.value)}
        required disabled=${readOnly} /></label>
      ${!hidePrivate() && html`<label>Deal size <${Lock} />
        <input value=${amount} onInput=${(e) => setAmount(e.target.value)}
          disabled=${readOnly} /></label>`}
      <button type="submit" disabled=${readOnly}>Create</button>
    </form>
    <div class="board">
      ${stages.map((s, i) => html`<section class="column" aria-label=${s}
          onDragOver=${(e) => e.preventDefault()}
          onDrop=${(e) => {
            e.preventDefault();
            const id = e.dataTransfer.getData('text/plain');
            if (id) move(id, s);
          }}>
        <h2>${s} <small>(${(columns.get(s) || []).length})</small></h2>
        <ul>
        ${(columns.get(s) || []).slice(0, limitOf(s)).map((row) => {
          const obj = details.get(row.id) || null;
          return html`
          <li class="card" key=${row.id} draggable=${!readOnly} aria-label=${row.title || row.id}
              onDragStart=${(e) => e.dataTransfer.setData('text/plain', row.id)}>
            <a href="/objects/${row.id}" onClick=${(e) => { e.preventDefault(); go(`/objects/${row.id}`); }}>
              ${row.title || row.id.slice(0, 12)}</a>
            <div class="partners">${partners(obj).map((m) => html`
              <span class="initials" title=${m.name || m.org}>${initials(m.name)}</span>`)}</div>
            ${obj && obj.private && obj.private[AMOUNT] && html`<div class="amount">
              <${Lock} /> ${show(obj.private[AMOUNT])}</div>`}
            ${obj && obj.shared && obj.shared[AMOUNT] && html`<div class="amount">${show(obj.shared[AMOUNT])}</div>`}
            ${row.date && html`<div class="date">${row.date}</div>`}
            ${i + 1 < stages.length && html`<button type="button" disabled=${readOnly}
              aria-label="Move ${row.title || row.id} to ${stages[i + 1]}"
              onClick=${() => move(row.id, stages[i + 1])}>→</button>`}
          </li>`;
        })}
        </ul>
        ${(columns.get(s) || []).length > limitOf(s) && html`<button type="button" class="more"
          onClick=${() => setShown({...shown, [s]: limitOf(s) + 200})}>Show more in ${s}</button>`}
      </section>`)}
    </div>
  </main>`;
}

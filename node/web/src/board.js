// board.js - the pipeline board: one column per stage of the type's
// template, a card per object (name, partner initials, amount unless
// private fields are hidden, close date). Dragging a card to another
// column, or its "next stage" button, asks POST /v1/objects/ID/stage; a
// refusal shows the node's reason. A form creates an object.
import {useEffect, useState} from 'preact/hooks';
import {html, Lock} from './html.js';
import {api, query, show, initials, hidePrivate} from './api.js';
import {useEvents, lastEventObject} from './events.js';

const AMOUNT = 'deal_size';
const DETAILS = 80; // under the API's burst of 2 × --api-rate (100)

export function Board({type, org, go, readOnly}) {
  const tick = useEvents();
  const [stages, setStages] = useState([]);
  const [cards, setCards] = useState([]);
  const [error, setError] = useState('');
  const [name, setName] = useState('');
  const [amount, setAmount] = useState('');

  // the list is one request; each card's details (partners, amount) one
  // more, kept between loads and asked again only for the object an event
  // names, and for at most DETAILS cards (the API's request rate)
  const [details] = useState(() => new Map());
  const load = async (changed) => {
    const t = await api('GET', `/v1/templates/${type}`);
    setStages(t.stages || []);
    const rows = (await api('GET', `/v1/objects${query({type, limit: 500})}`))
      .filter((r) => r.status === 'active');
    if (changed) details.delete(changed);
    const want = rows.filter((r) => !details.has(r.id)).slice(0, Math.max(0, DETAILS - details.size));
    await Promise.all(want.map((r) => api('GET', `/v1/objects/${r.id}${query({}, true)}`)
      .then((o) => details.set(r.id, o), () => details.set(r.id, null))));
    setCards(rows.map((r) => ({row: r, obj: details.get(r.id) || null})));
  };
  useEffect(() => {
    load(lastEventObject()).catch((e) => setError(e.message));
  }, [type, tick]);

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
        <h2>${s}</h2>
        <ul>
        ${cards.filter(({row}) => (row.stage || stages[0]) === s).map(({row, obj}) => html`
          <li class="card" draggable=${!readOnly} aria-label=${row.title || row.id}
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
          </li>`)}
        </ul>
      </section>`)}
    </div>
  </main>`;
}

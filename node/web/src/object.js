// object.js - the object page: shared and private fields side by side
// (a lock on every private one; the private column is not rendered at
// all, and not even fetched, while private fields are hidden), inline
// editing, the stage chevron bar, members with their roles and safety
// codes, comments, attachments, the activity timeline, inviting a partner.
// Money is edited as an amount and a currency from the list this build
// knows (spec/objects.md "Currencies"), the value's own currency, else the
// org's default (GET /v1/config), chosen first.
import {useEffect, useState} from 'preact/hooks';
import {html, Lock} from './html.js';
import {api, query, show, hidePrivate} from './api.js';
import {useEvents} from './events.js';
import {Timeline} from './timeline.js';
import {Attachments} from './attachments.js';

// the currencies the node knows (spec/objects.md "Currencies")
export const CURRENCIES = ('AED ARS AUD BDT BGN BHD BIF BRL CAD CHF CLF CLP CNY COP CZK DJF DKK EGP EUR GBP ' +
  'GNF HKD HUF IDR ILS INR IQD ISK JOD JPY KES KMF KRW KWD LYD MAD MXN MYR NGN NOK NZD OMR PEN PHP PKR ' +
  'PLN PYG QAR RON RWF SAR SEK SGD THB TND TRY TWD UAH UGX USD UYU UYW VND VUV XAF XOF XPF ZAR').split(' ');

let defaultCurrency = null;
function orgCurrency() {
  if (!defaultCurrency)
    defaultCurrency = api('GET', '/v1/config').then((c) => c.default_currency || 'USD', () => 'USD');
  return defaultCurrency;
}

function Field({f, value, priv, readOnly, save}) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const [currency, setCurrency] = useState('');
  const label = f.label || f.name;
  const money = f.type === 'money';
  const start = async () => {
    if (money) {
      const has = value && typeof value === 'object' && value.currency;
      setText(has && value.amount !== undefined ? value.amount : '');
      setCurrency(has ? value.currency : await orgCurrency());
    } else {
      setText(value === undefined || value === null ? '' : show(value));
    }
    setEditing(true);
  };
  const [choices, setChoices] = useState(null);
  useEffect(() => {
    // an enum field's values: its configuration table
    if (editing && f.type === 'enum' && f.table && choices === null)
      api('GET', `/v1/config/${f.table}`).then((t) => setChoices(t.values), () => setChoices([]));
  }, [editing]);
  const submit = async (e) => {
    e.preventDefault();
    const v = money && text.trim() !== '' ? `${text.trim()} ${currency}` : text;
    if (await save(f.name, v, priv)) setEditing(false);
  };
  const input = money
    ? html`<input aria-label="${label} amount" inputmode="decimal" placeholder="1200000.00"
        value=${text} onInput=${(e) => setText(e.target.value)} />
      <select aria-label="${label} currency" value=${currency} onChange=${(e) => setCurrency(e.target.value)}>
        ${(CURRENCIES.includes(currency) ? CURRENCIES : [currency].concat(CURRENCIES)).map((c) => html`<option value=${c}>${c}</option>`)}</select>`
    : choices && choices.length > 0
    ? html`<select aria-label=${label} value=${text} onChange=${(e) => setText(e.target.value)}>
        <option value="">(none)</option>
        ${choices.map((c) => html`<option value=${c}>${c}</option>`)}</select>`
    : html`<input aria-label=${label} type=${f.type === 'date' ? 'date' : 'text'}
        value=${text} onInput=${(e) => setText(e.target.value)} />`;
  return html`<tr>
    <th scope="row">${priv && html`<${Lock} /> `}${label}</th>
    <td>${editing ? html`<form onSubmit=${submit} class="inline">
        ${input}
        <button type="submit">Save</button>
        <button type="button" onClick=${() => setEditing(false)}>Cancel</button>
      </form>` : html`<span class="value">${show(value)}</span>
        <button type="button" class="edit" disabled=${readOnly}
          aria-label="Edit ${label}" onClick=${start}>✎</button>`}</td>
  </tr>`;
}

export function ObjectPage({id, org, readOnly: userReadOnly}) {
  const tick = useEvents();
  const [obj, setObj] = useState(null);
  const [tpl, setTpl] = useState(null);
  const [error, setError] = useState('');
  const [comment, setComment] = useState('');
  const [invite, setInvite] = useState(null);
  const [safety, setSafety] = useState({});

  const load = async () => {
    const o = await api('GET', `/v1/objects/${id}${query({}, true)}`);
    const t = await api('GET', `/v1/templates/${o.type}`).catch(() => ({fields: [], stages: []}));
    setTpl(t);
    setObj(o);
  };
  useEffect(() => {
    load().catch((e) => setError(e.message));
  }, [id, tick]);
  useEffect(() => {
    api('GET', '/v1/peers').then((ps) => setSafety(Object.fromEntries(ps.map((p) => [p.org, p.safety]))), () => {});
  }, [id]);

  if (!obj || !tpl) return html`<main>${error ? html`<p role="alert" class="error">${error}</p>` : 'Loading…'}</main>`;

  const mine = obj.members.find((m) => m.org === org);
  const canManage = !userReadOnly && mine && mine.status === 'active' && (mine.role === 'owner' || mine.role === 'admin');
  const readOnly = userReadOnly || !mine || mine.role === 'viewer' || obj.status !== 'active';
  const hide = hidePrivate();
  const fields = (tpl.fields || []).filter((f) => f.name !== 'stage' && !f.derived);
  const sharedF = fields.filter((f) => f.visibility !== 'private');
  const privF = fields.filter((f) => f.visibility === 'private');
  for (const k of Object.keys(obj.shared))
    if (k !== 'stage' && !fields.find((f) => f.name === k)) sharedF.push({name: k, type: 'text'});
  if (!hide && obj.private)
    for (const k of Object.keys(obj.private))
      if (!privF.find((f) => f.name === k)) privF.push({name: k, type: 'text'});

  const act = async (fn) => {
    setError('');
    try {
      await fn();
      await load();
      return true;
    } catch (e) {
      setError(e.message);
      return false;
    }
  };
  const save = (name, value, priv) => act(() => api('POST', `/v1/objects/${id}`,
    priv ? {private: {[name]: value}} : fields.find((f) => f.name === name) ? {set: {[name]: value}} : {custom: {[name]: value}}));
  const names = Object.fromEntries(obj.members.map((m) => [m.org, m.name || m.org.slice(0, 12)]));
  const stage = obj.shared.stage || (tpl.stages || [])[0];
  const stages = tpl.stages || [];
  const si = stages.indexOf(stage);

  return html`<main>
    <h1>${obj.shared.name || obj.id.slice(0, 12)} <small>${obj.type}</small></h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${stages.length > 0 && html`<nav class="chevrons" aria-label="Stage">
      ${stages.map((s, i) => html`<button type="button" class=${i < si ? 'done' : i === si ? 'current' : ''}
        aria-current=${i === si ? 'step' : undefined} disabled=${readOnly || i === si}
        onClick=${() => act(() => api('POST', `/v1/objects/${id}/stage`, {stage: s}))}>${s}</button>`)}
    </nav>`}
    <div class="fields">
      <section aria-label="Shared fields"><h2>Shared</h2><table><tbody>
        ${sharedF.map((f) => html`<${Field} key=${f.name} f=${f} value=${obj.shared[f.name]}
          priv=${false} readOnly=${readOnly} save=${save} />`)}
      </tbody></table></section>
      ${!hide && html`<section aria-label="Private fields"><h2><${Lock} /> Private</h2><table><tbody>
        ${privF.map((f) => html`<${Field} key=${f.name} f=${f} value=${(obj.private || {})[f.name]}
          priv=${true} readOnly=${userReadOnly} save=${save} />`)}
      </tbody></table></section>`}
    </div>
    <section aria-label="Members"><h2>Members</h2><ul>
      ${obj.members.map((m) => html`<li>${m.name || m.org.slice(0, 12)} — ${m.role}${m.status !== 'active' ? ` (${m.status})` : ''}
        ${safety[m.org] && html` <span class="safety" title="safety code">${safety[m.org]}</span>`}
        ${canManage && m.org !== org && m.role !== 'owner' && m.status === 'active' && html` <select
          aria-label="Role of ${m.name || m.org}" value=${m.role}
          onChange=${(e) => act(() => api('POST', `/v1/objects/${id}/members/${m.org}/role`, {role: e.target.value}))}>
          ${['admin', 'member', 'viewer'].map((r) => html`<option value=${r}>${r}</option>`)}</select>`}
        ${canManage && m.org !== org && m.role !== 'owner' && m.status === 'active' && html` <button type="button"
          aria-label="Remove ${m.name || m.org}" onClick=${() => act(() => api('DELETE', `/v1/objects/${id}/members/${m.org}`))}>Remove</button>`}</li>`)}
    </ul>
    ${mine && mine.role !== 'owner' && mine.status === 'active' && !userReadOnly && html`
      <button type="button" onClick=${() => act(() => api('POST', `/v1/objects/${id}/leave`))}>Leave this ${obj.type}</button>`}
    ${canManage && html`
      <button type="button" onClick=${() => act(async () => setInvite(await api('POST', `/v1/objects/${id}/invites`, {role: 'member'})))}>Invite a partner</button>`}
    ${invite && html`<label>Invite token <textarea readonly rows="3">${invite.token}</textarea></label>
      <button type="button" onClick=${() => navigator.clipboard && navigator.clipboard.writeText(invite.token)}>Copy</button>`}
    </section>
    <section aria-label="Comments"><h2>Comments</h2><ul>
      ${obj.comments.map((c) => html`<li><strong>${c.name || c.org.slice(0, 12)}</strong> <time>${c.time}</time>: ${c.text}</li>`)}
    </ul>
    <form onSubmit=${(e) => { e.preventDefault(); act(async () => { await api('POST', `/v1/objects/${id}/comments`, {text: comment}); setComment(''); }); }}>
      <label>Comment <input value=${comment} onInput=${(e) => setComment(e.target.value)} disabled=${readOnly} required /></label>
      <button type="submit" disabled=${readOnly}>Add comment</button>
    </form></section>
    <${Attachments} id=${id} names=${names} tick=${tick} readOnly=${readOnly} />
    <${Timeline} id=${id} names=${names} tick=${tick} />
  </main>`;
}

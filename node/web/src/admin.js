// admin.js - the node's administration for its admins: users (add one,
// disable or enable), API tokens (make one, shown once to copy; revoke),
// access policies (add, remove), templates (edit one's JSON, or go back to
// the built-in) and webhooks (add one, its secret shown once; pause,
// resume, remove). Every list and change is an API route that needs
// the admin's rights (spec/access.md §6): the node refuses anyone else, and
// the shell shows this view to admins only.
import {useEffect, useState} from 'preact/hooks';
import {html} from './html.js';
import {api} from './api.js';

function Table({label, cols, rows, cells}) {
  return html`<table class="list" aria-label=${label}><thead><tr>
      ${cols.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
    <tbody>${rows.map(cells)}</tbody></table>`;
}

const when = (t) => (t ? t.replace('T', ' ').slice(0, 19) : '—');

export function Admin() {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  const [user, setUser] = useState({name: '', role: 'member', password: ''});
  const [rule, setRule] = useState('');
  const [tok, setTok] = useState({user: '', scopes: 'read', expires: '30d'});
  const [made, setMade] = useState(null); // a new token or webhook secret: shown once
  const [hook, setHook] = useState({url: '', events: '*'});
  const [tplEdit, setTplEdit] = useState(null); // {type, text}
  const load = async () => {
    const [users, tokens, policies, templates, webhooks] = await Promise.all(
      ['/v1/users', '/v1/tokens', '/v1/policies', '/v1/templates', '/v1/webhooks'].map((p) => api('GET', p)));
    setData({users, tokens, policies, templates, webhooks});
  };
  useEffect(() => {
    load().catch((e) => setError(e.message));
  }, []);
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
  if (!data) return html`<main class="admin"><h1>Administration</h1>
    ${error ? html`<p role="alert" class="error">${error}</p>` : html`<p>Loading…</p>`}</main>`;
  const addUser = (e) => {
    e.preventDefault();
    act(async () => {
      await api('POST', '/v1/users', user);
      setUser({name: '', role: 'member', password: ''});
    });
  };
  const addRule = (e) => {
    e.preventDefault();
    act(async () => {
      await api('POST', '/v1/policies', {rule});
      setRule('');
    });
  };
  const addToken = (e) => {
    e.preventDefault();
    act(async () => {
      const t = await api('POST', '/v1/tokens', {user: tok.user || data.users[0].name, scopes: tok.scopes, expires: tok.expires});
      setMade({what: `API token ${t.id} of ${t.user}`, label: 'New API token', secret: t.token});
    });
  };
  const addHook = (e) => {
    e.preventDefault();
    act(async () => {
      const w = await api('POST', '/v1/webhooks', {url: hook.url, events: hook.events});
      setMade({what: `the secret of webhook ${w.id}`, label: 'New webhook secret', secret: w.secret});
      setHook({url: '', events: '*'});
    });
  };
  const editTpl = (type) => act(async () =>
    setTplEdit({type, text: JSON.stringify(await api('GET', `/v1/templates/${type}`), null, 2)}));
  const saveTpl = (e) => {
    e.preventDefault();
    act(async () => {
      let doc;
      try {
        doc = JSON.parse(tplEdit.text);
      } catch (err) {
        throw new Error(`the template is not JSON: ${err.message}`);
      }
      await api('PUT', `/v1/templates/${tplEdit.type}`, doc);
      setTplEdit(null);
    });
  };
  const once = made && html`<div class="once" role="group" aria-label=${made.label}>
    <p role="status">Copy ${made.what} now: it is shown only once.</p>
    <label>${made.label} <textarea readonly rows="2">${made.secret}</textarea></label>
    <button type="button" onClick=${() => navigator.clipboard && navigator.clipboard.writeText(made.secret)}>Copy</button>
    <button type="button" onClick=${() => setMade(null)}>Done</button></div>`;
  return html`<main class="admin">
    <h1>Administration</h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <section aria-label="Users"><h2>Users</h2>
      <${Table} label="Users" cols=${['Name', 'Role', 'State', 'Created', '']} rows=${data.users}
        cells=${(u) => html`<tr key=${u.name}><th scope="row">${u.name}</th><td>${u.role}</td>
          <td>${u.disabled ? 'disabled' : u.locked_until ? `locked until ${when(u.locked_until)}` : 'active'}</td>
          <td>${when(u.created)}</td>
          <td><button type="button" aria-label="${u.disabled ? 'Enable' : 'Disable'} ${u.name}"
            onClick=${() => act(() => api('POST', `/v1/users/${encodeURIComponent(u.name)}`, {disabled: !u.disabled}))}>
            ${u.disabled ? 'Enable' : 'Disable'}</button></td></tr>`} />
      <form class="create" onSubmit=${addUser}>
        <label>User name <input value=${user.name} required onInput=${(e) => setUser({...user, name: e.target.value})} /></label>
        <label>Role <select value=${user.role} onChange=${(e) => setUser({...user, role: e.target.value})}>
          ${['admin', 'member', 'viewer'].map((r) => html`<option value=${r}>${r}</option>`)}</select></label>
        <label>Password <input type="password" autocomplete="new-password" value=${user.password} required
          onInput=${(e) => setUser({...user, password: e.target.value})} /></label>
        <button type="submit">Add user</button>
      </form></section>
    <section aria-label="API tokens"><h2>API tokens</h2>
      ${data.tokens.length === 0 ? html`<p>No token.</p>` : html`<${Table} label="API tokens"
        cols=${['Id', 'User', 'Scopes', 'Expires', 'Last used', '']} rows=${data.tokens}
        cells=${(t) => html`<tr key=${t.id}><th scope="row" class="safety">${t.id}</th><td>${t.user}</td>
          <td>${[].concat(t.scopes).join(', ')}</td><td>${when(t.expires)}</td><td>${when(t.last_used)}</td>
          <td><button type="button" aria-label="Revoke token ${t.id}"
            onClick=${() => act(() => api('DELETE', `/v1/tokens/${t.id}`))}>Revoke</button></td></tr>`} />`}
      <form class="create" onSubmit=${addToken}>
        <label>Token user <select value=${tok.user || (data.users[0] || {}).name} onChange=${(e) => setTok({...tok, user: e.target.value})}>
          ${data.users.map((u) => html`<option value=${u.name}>${u.name}</option>`)}</select></label>
        <label>Scopes <input value=${tok.scopes} required placeholder="read,change or *"
          onInput=${(e) => setTok({...tok, scopes: e.target.value})} /></label>
        <label>Expires in <input value=${tok.expires} required placeholder="30d, 12h or never"
          onInput=${(e) => setTok({...tok, expires: e.target.value})} /></label>
        <button type="submit" disabled=${data.users.length === 0}>Create token</button>
      </form>
      ${made && made.label === 'New API token' && once}</section>
    <section aria-label="Access policies"><h2>Access policies</h2>
      ${data.policies.length === 0 ? html`<p>No rule: admins may do everything; other users nothing until a rule allows it (default deny).</p>`
        : html`<${Table} label="Access policies" cols=${['Id', 'Rule', '']} rows=${data.policies}
        cells=${(p) => html`<tr key=${p.id}><th scope="row">${p.id}</th><td><code>${p.rule}</code></td>
          <td><button type="button" aria-label="Remove rule ${p.id}"
            onClick=${() => act(() => api('DELETE', `/v1/policies/${p.id}`))}>Remove</button></td></tr>`} />`}
      <form class="create" onSubmit=${addRule}>
        <label>Rule <input value=${rule} required placeholder="deny role=member read opportunity.deal_size"
          onInput=${(e) => setRule(e.target.value)} /></label>
        <button type="submit">Add rule</button>
      </form></section>
    <section aria-label="Templates"><h2>Templates</h2>
      <${Table} label="Templates" cols=${['Type', 'Built in', 'Stored here', '']} rows=${data.templates}
        cells=${(t) => html`<tr key=${t.type}><th scope="row">${t.type}</th><td>${t.builtin ? 'yes' : 'no'}</td>
          <td>${t.stored ? 'yes' : 'no'}</td>
          <td><button type="button" aria-label="Edit template ${t.type}" onClick=${() => editTpl(t.type)}>Edit</button>
          ${t.stored && t.builtin && html` <button type="button" aria-label="Use the built-in template ${t.type}"
            onClick=${() => act(() => api('DELETE', `/v1/templates/${t.type}`))}>Use built-in</button>`}</td></tr>`} />
      ${tplEdit && html`<form onSubmit=${saveTpl}>
        <label class="block">Template ${tplEdit.type} (JSON) <textarea rows="16" value=${tplEdit.text}
          onInput=${(e) => setTplEdit({...tplEdit, text: e.target.value})}></textarea></label>
        <button type="submit">Save template</button>
        <button type="button" onClick=${() => setTplEdit(null)}>Cancel</button></form>`}</section>
    <section aria-label="Webhooks"><h2>Webhooks</h2>
      ${data.webhooks.length === 0 ? html`<p>No webhook.</p>` : html`<${Table} label="Webhooks"
        cols=${['Id', 'URL', 'Events', 'State', '']} rows=${data.webhooks}
        cells=${(w) => html`<tr key=${w.id}><th scope="row">${w.id}</th><td>${w.url}</td>
          <td>${[].concat(w.events).join(', ')}</td><td>${w.paused ? 'paused' : w.state}</td>
          <td><button type="button" aria-label="${w.paused ? 'Resume' : 'Pause'} webhook ${w.id}"
            onClick=${() => act(() => api('POST', `/v1/webhooks/${w.id}/${w.paused ? 'resume' : 'pause'}`))}>${w.paused ? 'Resume' : 'Pause'}</button>
          <button type="button" aria-label="Remove webhook ${w.id}"
            onClick=${() => act(() => api('DELETE', `/v1/webhooks/${w.id}`))}>Remove</button></td></tr>`} />`}
      <form class="create" onSubmit=${addHook}>
        <label>Webhook URL <input type="url" value=${hook.url} required placeholder="https://crm.example/hook"
          onInput=${(e) => setHook({...hook, url: e.target.value})} /></label>
        <label>Events <input value=${hook.events} required placeholder="* or object.*,approval.requested"
          onInput=${(e) => setHook({...hook, events: e.target.value})} /></label>
        <button type="submit">Add webhook</button>
      </form>
      ${made && made.label === 'New webhook secret' && once}</section>
  </main>`;
}

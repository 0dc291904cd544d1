// admin.js - the node's administration for its admins: users (add one,
// disable or enable), API tokens (revoke), access policies (add, remove),
// templates and webhooks. Every list and change is an API route that needs
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
            onClick=${() => act(() => api('DELETE', `/v1/tokens/${t.id}`))}>Revoke</button></td></tr>`} />`}</section>
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
      <${Table} label="Templates" cols=${['Type', 'Built in', 'Stored here']} rows=${data.templates}
        cells=${(t) => html`<tr key=${t.type}><th scope="row">${t.type}</th><td>${t.builtin ? 'yes' : 'no'}</td>
          <td>${t.stored ? 'yes' : 'no'}</td></tr>`} /></section>
    <section aria-label="Webhooks"><h2>Webhooks</h2>
      ${data.webhooks.length === 0 ? html`<p>No webhook.</p>` : html`<${Table} label="Webhooks"
        cols=${['Id', 'URL', 'Events', 'State']} rows=${data.webhooks}
        cells=${(w) => html`<tr key=${w.id}><th scope="row">${w.id}</th><td>${w.url}</td>
          <td>${[].concat(w.events).join(', ')}</td><td>${w.paused ? 'paused' : w.state}</td></tr>`} />`}</section>
  </main>`;
}

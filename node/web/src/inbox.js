// inbox.js - what waits for this org: approvals to give (approve or
// reject in place), the invites it made that wait for a partner (revoke),
// and joining an object with an invite token.
import {useEffect, useState} from 'preact/hooks';
import {html} from './html.js';
import {api} from './api.js';
import {useEvents} from './events.js';

export function Inbox({go, readOnly}) {
  const tick = useEvents();
  const [inbox, setInbox] = useState(null);
  const [error, setError] = useState('');
  const [token, setToken] = useState('');
  const [join, setJoin] = useState(null);
  const [reason, setReason] = useState('');
  const load = async () => setInbox(await api('GET', '/v1/inbox'));
  useEffect(() => {
    load().catch((e) => setError(e.message));
  }, [tick]);
  const act = async (fn) => {
    setError('');
    try {
      await fn();
      await load();
    } catch (e) {
      setError(e.message);
    }
  };
  const doJoin = async (e) => {
    e.preventDefault();
    setError('');
    try {
      const j = await api('POST', '/v1/join', {token: token.trim()});
      for (;;) {
        const s = await api('GET', `/v1/joins/${j.join}`);
        setJoin(s);
        if (s.state === 'done') return go(`/objects/${s.object}`);
        if (s.state === 'failed') throw new Error(s.error || 'the join failed');
        await new Promise((r) => setTimeout(r, 300));
      }
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<main>
    <h1>Inbox</h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <section aria-label="Approvals"><h2>Approvals</h2>
      ${inbox && inbox.approvals.length === 0 && html`<p>Nothing to approve.</p>`}
      <ul>${inbox && inbox.approvals.map((a) => html`<li>
        <a href="/objects/${a.object}" onClick=${(e) => { e.preventDefault(); go(`/objects/${a.object}`); }}>${a.type} ${a.object.slice(0, 12)}</a>
        — ${a.stage}: ${a.step}
        <button type="button" disabled=${readOnly} onClick=${() => act(() => api('POST', `/v1/objects/${a.object}/approve`, {step: a.step}))}>Approve</button>
        <button type="button" disabled=${readOnly || !reason} onClick=${() => act(() => api('POST', `/v1/objects/${a.object}/reject`, {step: a.step, reason}))}>Reject</button>
      </li>`)}</ul>
      <label>Reason for a rejection <input value=${reason} onInput=${(e) => setReason(e.target.value)} /></label>
    </section>
    <section aria-label="Pending invites"><h2>Pending invites</h2>
      ${inbox && inbox.invites.length === 0 && html`<p>No invite waiting.</p>`}
      <ul>${inbox && inbox.invites.map((v) => html`<li>
        <a href="/objects/${v.object}" onClick=${(e) => { e.preventDefault(); go(`/objects/${v.object}`); }}>${v.object.slice(0, 12)}</a>
        — ${v.role}, expires <time datetime=${v.expires}>${v.expires.slice(0, 10)}</time>
        <button type="button" disabled=${readOnly} aria-label="Revoke the invite ${v.invite_id.slice(0, 8)}"
          onClick=${() => act(() => api('DELETE', `/v1/invites/${v.invite_id}`))}>Revoke</button>
      </li>`)}</ul>
    </section>
    <section aria-label="Join"><h2>Join an object</h2>
      <form onSubmit=${doJoin}>
        <label>Invite token <input value=${token} onInput=${(e) => setToken(e.target.value)} required disabled=${readOnly} /></label>
        <button type="submit" disabled=${readOnly}>Join</button>
      </form>
      ${join && html`<p role="status">Join: ${join.state}</p>`}
    </section>
  </main>`;
}

// inbox.js - what waits for this org: approvals to give (approve or
// reject in place), MDF claims to review (approve: the `claim` step, then
// the move to Claim Approved; reject with the reason), deal registrations
// waiting, with their likely conflicts (approve with an expiry date,
// reject with the reason: spec/workflows.md §9), the invites it made that
// wait for a partner (revoke), and joining an object with an invite token.
import {useEffect, useState} from 'preact/hooks';
import {html} from './html.js';
import {api, show} from './api.js';
import {useEvents} from './events.js';

export function Inbox({go, readOnly}) {
  const tick = useEvents();
  const [inbox, setInbox] = useState(null);
  const [error, setError] = useState('');
  const [token, setToken] = useState('');
  const [join, setJoin] = useState(null);
  const [preview, setPreview] = useState(null);
  const [reason, setReason] = useState('');
  const [expires, setExpires] = useState({});
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
  // what a pasted token holds, shown before joining (the node reads it:
  // POST /v1/join/preview; nothing is joined)
  useEffect(() => {
    const t = token.trim();
    setPreview(null);
    if (!t) return undefined;
    let gone = false;
    const timer = setTimeout(() => {
      api('POST', '/v1/join/preview', {token: t})
        .then((p) => !gone && setPreview(p), (e) => !gone && setPreview({error: e.message}));
    }, 250);
    return () => {
      gone = true;
      clearTimeout(timer);
    };
  }, [token]);
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
  const claims = (inbox && inbox.claims) || [];
  const regs = (inbox && inbox.registrations) || [];
  const below = (a) => (a.step === 'claim' && claims.some((c) => c.object === a.object)) ||
    (a.step === 'registration' && regs.some((r) => r.object === a.object));
  const approvals = inbox ? inbox.approvals.filter((a) => !below(a)) : [];
  const objLink = (id, text) => html`<a href="/objects/${id}" onClick=${(e) => { e.preventDefault(); go(`/objects/${id}`); }}>${text}</a>`;
  const named = (o) => o.name || o.object.slice(0, 12);
  const conflict = (c) => html`<li>
    <span class="score">${c.score}</span> ${c.match}: ${c.type === 'opportunity' ? 'opportunity ' : 'registration '}${objLink(c.object, c.object.slice(0, 12))} ${c.account || '-'} / ${c.solution || '-'}, ${c.stage || 'no stage'}${c.expires ? `, expires ${c.expires}` : ''}${c.earlier ? ', registered earlier' : ''}${c.holds ? ', approved and unexpired' : ''}${c.same_solution ? ', same solution' : ''}
  </li>`;
  return html`<main>
    <h1>Inbox</h1>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <section aria-label="Approvals"><h2>Approvals</h2>
      ${inbox && approvals.length === 0 && html`<p>Nothing to approve.</p>`}
      <ul>${approvals.map((a) => html`<li>
        <a href="/objects/${a.object}" onClick=${(e) => { e.preventDefault(); go(`/objects/${a.object}`); }}>${a.type} ${a.object.slice(0, 12)}</a>
        — ${a.stage}: ${a.step}
        <button type="button" disabled=${readOnly} onClick=${() => act(() => api('POST', `/v1/objects/${a.object}/approve`, {step: a.step}))}>Approve</button>
        <button type="button" disabled=${readOnly || !reason} onClick=${() => act(() => api('POST', `/v1/objects/${a.object}/reject`, {step: a.step, reason}))}>Reject</button>
      </li>`)}</ul>
      <label>Reason for a rejection <input value=${reason} onInput=${(e) => setReason(e.target.value)} /></label>
    </section>
    <section aria-label="Claims to review"><h2>Claims to review</h2>
      ${inbox && claims.length === 0 && html`<p>No claim waiting.</p>`}
      <ul>${claims.map((c) => html`<li aria-label=${`Claim ${named(c)}`}>
        ${objLink(c.object, named(c))}: ${show(c.claimed) || 'nothing'} claimed of ${show(c.approved) || 'nothing'} approved${c.proof_of_performance ? html`; proof: ${show(c.proof_of_performance)}` : ''}
        <button type="button" disabled=${readOnly} aria-label=${`Approve the claim ${named(c)}`}
          onClick=${() => act(async () => {
            await api('POST', `/v1/objects/${c.object}/approve`, {step: 'claim'});
            await api('POST', `/v1/objects/${c.object}/stage`, {stage: 'Claim Approved'});
          })}>Approve claim</button>
        <button type="button" disabled=${readOnly || !reason} aria-label=${`Reject the claim ${named(c)}`}
          onClick=${() => act(() => api('POST', `/v1/objects/${c.object}/reject`, {step: 'claim', reason}))}>Reject claim</button>
      </li>`)}</ul>
    </section>
    <section aria-label="Deal registrations"><h2>Deal registrations</h2>
      ${inbox && regs.length === 0 && html`<p>No registration waiting.</p>`}
      <ul>${regs.map((r) => html`<li aria-label=${`Registration ${named(r)}`}>
        ${objLink(r.object, named(r))}: ${r.customer_account || r.account || '-'} / ${r.solution || '-'}${r.amount ? `, ${show(r.amount)}` : ''}${r.close_date ? `, closes ${r.close_date}` : ''}${' — '}${r.conflicts && r.conflicts.length ? `${r.conflicts.length + (r.more || 0)} likely conflict${r.conflicts.length + (r.more || 0) === 1 ? '' : 's'}` : 'no likely conflict'}
        ${r.conflicts && r.conflicts.length > 0 && html`<ul aria-label=${`Conflicts of ${named(r)}`}>${r.conflicts.map(conflict)}</ul>`}
        <label>Expiry date for ${named(r)} <input type="date" value=${expires[r.object] || ''} disabled=${readOnly}
          onInput=${(e) => setExpires({...expires, [r.object]: e.target.value})} /></label>
        <button type="button" disabled=${readOnly || !expires[r.object]} aria-label=${`Approve the registration ${named(r)}`}
          onClick=${() => act(() => api('POST', `/v1/objects/${r.object}/approve`, {expires: expires[r.object]}))}>Approve</button>
        <button type="button" disabled=${readOnly || !reason} aria-label=${`Reject the registration ${named(r)}`}
          onClick=${() => act(() => api('POST', `/v1/objects/${r.object}/reject`, {step: 'registration', reason}))}>Reject</button>
      </li>`)}</ul>
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
      ${preview && html`<section aria-label="Invite preview">
        ${preview.error ? html`<p role="alert">${preview.error}</p>` : html`<dl>
          <dt>Object</dt><dd>${preview.type || 'unknown type (older token)'} <code>${preview.object.slice(0, 12)}</code></dd>
          <dt>Invited by</dt><dd><code>${preview.inviter}</code></dd>
          <dt>Role</dt><dd>${preview.role}</dd>
          <dt>Expires</dt><dd>${preview.expires}${preview.expired ? ' (expired)' : ''}</dd>
          <dt>Addresses</dt><dd>${preview.addrs.join(', ')}</dd>
        </dl>`}
      </section>`}
      ${join && html`<p role="status">Join: ${join.state}</p>`}
    </section>
  </main>`;
}
